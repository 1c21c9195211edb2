"""The harvested datasets: records, raw and quarantine, hive-partitioned by region and source
(`<table>/region=…/source_id=…/part-<run>-<chunk>.parquet`), their committed files and how to
read them. Partition columns live in the paths only (Spark's convention)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harvest.config.schemas import arrow_schema
from harvest.records.tables import TABLES
from harvest.store.storage import Storage, as_storage

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TABLES", "committed_files", "partition_dir", "read_committed", "run_files"]


def partition_dir(table: str, region: str, source_id: str) -> str:
    return f"{table}/region={region}/source_id={source_id}"


def committed_files(storage: Storage | Path, table: str, source_id: str | None = None) -> list[str]:
    """The committed Parquet files of a table (optionally of one source), in a stable order."""
    storage = as_storage(storage)
    return storage.glob(f"{table}/region=*/source_id={source_id or '*'}/part-*.parquet")


def read_committed(storage: Storage | Path, table: str, source_id: str | None = None) -> pa.Table:
    """Every committed row of a table (optionally one source's), without partition columns."""
    import pyarrow as pa

    storage = as_storage(storage)
    files = committed_files(storage, table, source_id)
    schema = arrow_schema(table, with_partitions=False)
    return pa.concat_tables([storage.read_table(f, schema=schema) for f in files]) if files else schema.empty_table()


def run_files(storage: Storage, source_id: str, run_id: str, include_temporary: bool = False) -> list[str]:
    """Every committed file a run wrote, in every table (and its unfinished temporary files)."""
    found = []
    for table in TABLES:
        found += storage.glob(f"{table}/region=*/source_id={source_id}/part-{run_id}-*.parquet")
        if include_temporary:
            found += storage.glob(f"{table}/region=*/source_id={source_id}/.part-{run_id}-*.parquet.tmp")
    return found
