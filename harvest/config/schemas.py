"""Declared table schemas (schemas/*.schema.json) as Arrow schemas: never inferred, always cast to.

pyarrow is imported when an Arrow schema is first asked for: reading a declaration does not load
it (the harvesting process of a parse-worker run reads them and stays without pyarrow)."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from harvest.config.settings import schemas_dir

if TYPE_CHECKING:
    import pyarrow as pa

_SCALARS = {
    "string": "string",
    "bool": "bool_",
    "int32": "int32",
    "int64": "int64",
    "binary": "binary",
    "timestamp[us, UTC]": ("timestamp", "us", "UTC"),
}


def arrow_type(spec: object) -> pa.DataType:
    """Turn one declared type into an Arrow type."""
    import pyarrow as pa

    if isinstance(spec, str):
        scalar = _SCALARS[spec]
        return pa.timestamp(scalar[1], tz=scalar[2]) if isinstance(scalar, tuple) else getattr(pa, scalar)()
    if isinstance(spec, dict) and "list" in spec:
        return pa.list_(arrow_type(spec["list"]))
    if isinstance(spec, dict) and "struct" in spec:
        return pa.struct([pa.field(f["name"], arrow_type(f["type"])) for f in spec["struct"]])
    raise ValueError(f"unknown declared type {spec!r}")


@cache
def declared(table: str) -> dict:
    """The declaration of one table (records, raw, quarantine, index)."""
    return json.loads((schemas_dir() / f"{table}.schema.json").read_text())


@cache
def arrow_schema(table: str, *, with_partitions: bool = True) -> pa.Schema:
    """The Arrow schema of a table; without its hive partition columns when they live in paths."""
    import pyarrow as pa

    decl = declared(table)
    skip = set() if with_partitions else set(decl.get("partition_by", []))
    fields = [
        pa.field(f["name"], arrow_type(f["type"]), nullable=f.get("nullable", True))
        for f in decl["fields"]
        if f["name"] not in skip
    ]
    meta = {b"gosc.table": table.encode(), b"gosc.schema_version": decl["schema_version"].encode()}
    return pa.schema(fields, metadata=meta)


def schema_version(table: str) -> str:
    return declared(table)["schema_version"]
