"""Parquet datasets on local disk: hive-partitioned by region and source, written atomically.

Each harvest run writes one file per table and partition, `part-<run_id>.parquet`, first under a
dot-prefixed temporary name that readers ignore, then renamed into place on commit. Columns are
built directly from per-column lists and cast to the declared schema (schemas/): never inferred.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harvest.schema import arrow_schema, declared

TABLES = ("records", "raw", "quarantine")


def partition_dir(data_dir: Path, table: str, region: str, source_id: str) -> Path:
    return Path(data_dir) / table / f"region={region}" / f"source_id={source_id}"


class ColumnBuffer:
    """Rows accumulated as one Python list per declared column."""

    def __init__(self, table: str):
        self.schema = arrow_schema(table, with_partitions=False)
        self.columns: dict[str, list] = {name: [] for name in self.schema.names}

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def add(self, row: dict) -> None:
        for name, col in self.columns.items():
            col.append(row.get(name))

    def take(self) -> pa.Table:
        """The buffered rows as an Arrow table of the declared schema; the buffer is emptied."""
        arrays = [pa.array(self.columns[f.name], type=f.type) for f in self.schema]
        for col in self.columns.values():
            col.clear()
        return pa.Table.from_arrays(arrays, schema=self.schema)


class PartitionWriter:
    """Streams one table's rows for one source and run into a Parquet file, committed atomically."""

    def __init__(self, data_dir: Path, table: str, region: str, source_id: str, run_id: str,
                 flush_rows: int = 5000):
        self.table = table
        self.dir = partition_dir(data_dir, table, region, source_id)
        self.final = self.dir / f"part-{run_id}.parquet"
        self.tmp = self.dir / f".part-{run_id}.parquet.tmp"
        self.buffer = ColumnBuffer(table)
        self.flush_rows = flush_rows
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def add(self, row: dict) -> None:
        self.buffer.add(row)
        self.rows += 1
        if len(self.buffer) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not len(self.buffer):
            return
        if self._writer is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, self.buffer.schema, compression="zstd")
        self._writer.write_table(self.buffer.take())

    def commit(self) -> Path | None:
        """Make the file visible under its final name (None when nothing was written)."""
        self.flush()
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.tmp.unlink(missing_ok=True)


def committed_files(data_dir: Path, table: str, source_id: str | None = None) -> list[Path]:
    """The committed Parquet files of a table (optionally of one source), in a stable order."""
    root = Path(data_dir) / table
    if not root.is_dir():
        return []
    pattern = f"region=*/source_id={source_id}/part-*.parquet" if source_id else "region=*/source_id=*/part-*.parquet"
    return sorted(root.glob(pattern))


def partition_columns(table: str) -> list[str]:
    return list(declared(table).get("partition_by", []))
