"""Analyst access to the published index: pandas, SQL, and the current snapshot's files."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harvest.config.settings import data_dir
from harvest.publish.snapshots import current_snapshot


def index_files(data: Path | None = None) -> list[Path]:
    """The Parquet files of the current index snapshot (resolved once: a consistent snapshot)."""
    snap = current_snapshot(Path(data or data_dir()))
    manifest = json.loads((snap / "manifest.json").read_text())
    return [snap / f for f in manifest["files"]]


def read_index(data: Path | None = None) -> pd.DataFrame:
    """The current index as a pandas DataFrame (Arrow-backed dtypes: nullable ints stay ints)."""
    tables = [pq.read_table(f) for f in index_files(data)]
    return pa.concat_tables(tables).to_pandas(types_mapper=pd.ArrowDtype)


def query(sql: str, data: Path | None = None) -> pd.DataFrame:
    """Run SQL against the current index, exposed as the view `works`."""
    files = [str(f) for f in index_files(data)]
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW works AS SELECT * FROM read_parquet({files!r})")
        return con.execute(sql).df()
    finally:
        con.close()
