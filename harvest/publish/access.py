"""Analyst access to the published index: pandas, SQL, and the current snapshot's files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from harvest.config.settings import data_dir
from harvest.publish.snapshots import current_snapshot_id
from harvest.store.storage import Storage, as_storage


def _current_files(storage: Storage) -> list[str]:
    """The current snapshot's works files (resolved once: a consistent snapshot)."""
    snapshot = f"index/snapshots/{current_snapshot_id(storage)}"
    return [f"{snapshot}/{f}" for f in storage.read_json(f"{snapshot}/manifest.json")["files"]]


def index_files(data: Storage | Path | None = None) -> list[Path]:
    """Where the current index snapshot's Parquet files are, for readers that open them."""
    storage = as_storage(data or data_dir())
    return [storage.local(f) for f in _current_files(storage)]


def read_index(data: Storage | Path | None = None) -> pd.DataFrame:
    """The current index as a pandas DataFrame (Arrow-backed dtypes: nullable ints stay ints)."""
    storage = as_storage(data or data_dir())
    tables = [storage.read_table(f) for f in _current_files(storage)]
    return pa.concat_tables(tables).to_pandas(types_mapper=pd.ArrowDtype)


def query(sql: str, data: Storage | Path | None = None) -> pd.DataFrame:
    """Run SQL against the current index, exposed as the view `works`."""
    files = [str(f) for f in index_files(data)]
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW works AS SELECT * FROM read_parquet({files!r})")
        return con.execute(sql).df()
    finally:
        con.close()
