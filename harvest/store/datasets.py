"""The harvested datasets on disk: hive-partitioned by region and source (records, raw, quarantine),
their committed files and how to read them."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

TABLES = ("records", "raw", "quarantine")


def partition_dir(data_dir: Path, table: str, region: str, source_id: str) -> Path:
    return Path(data_dir) / table / f"region={region}" / f"source_id={source_id}"


def committed_files(data_dir: Path, table: str, source_id: str | None = None) -> list[Path]:
    """The committed Parquet files of a table (optionally of one source), in a stable order."""
    root = Path(data_dir) / table
    if not root.is_dir():
        return []
    pattern = f"region=*/source_id={source_id}/part-*.parquet" if source_id else "region=*/source_id=*/part-*.parquet"
    return sorted(root.glob(pattern))


def iter_batches(path: Path, batch_size: int, columns: list[str] | None = None):
    """A Parquet file's record batches, one row group read at a time.

    pyarrow's ParquetFile pre-buffers by default, and iter_batches then reads every row group it
    will return up front: memory grows with the file (a 290 MB file took 320 MB). Without it a
    reader holds one row group."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_size, columns=columns)


def read_committed(data_dir: Path, table: str, source_id: str | None = None) -> pa.Table:
    """Every committed row of a table (optionally one source's), without partition columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harvest.config.schemas import arrow_schema

    files = committed_files(data_dir, table, source_id)
    schema = arrow_schema(table, with_partitions=False)
    return pa.concat_tables([pq.read_table(f, schema=schema) for f in files]) if files else schema.empty_table()


def run_files(data_dir: Path, source_id: str, run_id: str, include_temporary: bool = False) -> list[Path]:
    """Every committed file a run wrote, in every table (and its unfinished temporary files)."""
    found = []
    for table in TABLES:
        for part in Path(data_dir, table).glob(f"region=*/source_id={source_id}"):
            found += sorted(part.glob(f"part-{run_id}-*.parquet"))
            if include_temporary:
                found += sorted(part.glob(f".part-{run_id}-*.parquet.tmp"))
    return found
