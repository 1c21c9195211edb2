"""Parquet datasets on local disk: hive-partitioned by region and source, written atomically.

Each harvest run writes one file per table and partition, `part-<run_id>.parquet`, first under a
dot-prefixed temporary name that readers ignore, then renamed into place on commit. Columns are
built directly from per-column lists and cast to the declared schema (schemas/): never inferred.

pyarrow is imported on first use, not with the module: the harvesting process of a parse-worker
run only renames the workers' files and never loads it (~20 MB of private memory, ~55 MB RSS).
"""
from __future__ import annotations

import os
from pathlib import Path

from harvest.records.tables import ColumnBuffer
from harvest.store.datasets import TABLES, partition_dir

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


# Parquet options per table, as for the index (harvest.index): dictionaries only for columns whose
# values repeat within a file (for the others the encoder builds one, finds it too big and falls
# back: time spent for nothing), min/max statistics only where a reader filters, never on free text
# (a whole XML record or abstract as a page's "maximum"). Leaves of nested columns by their path.
_LIST = ".list.element"
TABLE_PARQUET = {
    "records": {
        "use_dictionary": ["set_specs" + _LIST, "metadata_prefix", "subjects" + _LIST, "publisher",
                           "publication_year", "resource_type", "language", "license", "run_id", "harvested_at",
                           "crosswalk_version", *(f"creators{_LIST}.{f}" for f in ("name", "family_name", "affiliation")),
                           f"identifiers{_LIST}.scheme", *(f"related_identifiers{_LIST}.{f}" for f in ("relation", "scheme")),
                           *(f"originals{_LIST}.{f}" for f in ("field", "value"))],
        "write_statistics": ["oai_identifier", "datestamp", "deleted", "metadata_prefix", "publisher", "publication_year",
                             "resource_type", "language", "license", "primary_pid", "run_id", "harvested_at",
                             "crosswalk_version"],
    },
    "raw": {
        "use_dictionary": ["metadata_prefix", "run_id", "harvested_at"],
        "write_statistics": ["oai_identifier", "datestamp", "deleted", "metadata_prefix", "run_id", "harvested_at"],
    },
    "quarantine": {
        "use_dictionary": ["run_id", "page_url", "reason", "quarantined_at"],
        "write_statistics": ["run_id", "page_url", "oai_identifier", "reason", "quarantined_at"],
    },
}


class PartitionWriter:
    """Streams one table's rows for one source and run into a Parquet file, committed atomically.

    Rows become Arrow every `batch_rows` (a compact copy: the Python rows are freed) and are
    written as one row group of `flush_rows`: the conversion runs while pages still arrive, not
    all at once when a chunk closes, and a row group stays as large as readers want it."""

    def __init__(self, data_dir: Path, table: str, region: str, source_id: str, run_id: str,
                 flush_rows: int = 5000, batch_rows: int = 1000):
        self.table = table
        self.dir = partition_dir(data_dir, table, region, source_id)
        self.final = self.dir / f"part-{run_id}.parquet"
        self.tmp = self.dir / f".part-{run_id}.parquet.tmp"
        self.buffer = ColumnBuffer(table)
        self.flush_rows = flush_rows
        self.batch_rows = min(batch_rows, flush_rows)
        self.rows = 0
        self._batches: list = []   # Arrow tables of `batch_rows` rows waiting for their row group
        self._batched = 0
        self._writer = None   # a pyarrow.parquet.ParquetWriter once the first rows are flushed
        self._fill = None     # records: fill counts of what is written, for the file's footer

    def add(self, row: tuple | dict) -> None:
        rows = self.buffer.rows   # called for every row of a harvest: no method call on the way
        rows.append(row)
        self.rows += 1
        if len(rows) >= self.batch_rows:
            self._batch()
            if self._batched >= self.flush_rows:
                self.flush()

    def _batch(self) -> None:
        n = len(self.buffer)
        if n:
            table = self.buffer.take()
            self._batches.append(table)
            self._batched += n

    def flush(self) -> None:
        self._batch()
        if not self._batches:
            return
        import pyarrow as pa

        if self._writer is None:
            import pyarrow.parquet as pq

            self.dir.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, self.buffer.schema, compression="zstd",
                                           **TABLE_PARQUET.get(self.table, {}))
        table = pa.concat_tables(self._batches)   # no copy: the batches become the table's chunks
        self._batches, self._batched = [], 0
        if self.table == "records":   # counted per row group: a few compute calls for thousands of rows
            if self._fill is None:
                from harvest.store.fills import FillCounts

                self._fill = FillCounts()
            self._fill.add(table)
        self._writer.write_table(table, row_group_size=max(len(table), 1))   # one row group

    def seal(self) -> Path | None:
        """Finish the temporary file and make it durable, still under its temporary name (None
        when nothing was written); `commit` or the caller then renames it into place."""
        self.flush()
        if self._writer is None:
            return None
        if self._fill is not None and hasattr(self._writer, "add_key_value_metadata"):
            # the validation report reads this instead of the records (with an older pyarrow that
            # cannot add it, the report counts the columns)
            from harvest.store.fills import FILL_KEY

            self._writer.add_key_value_metadata({FILL_KEY: self._fill.dumps()})
        self._writer.close()
        self._writer = None
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        return self.tmp

    def fill_counts(self) -> dict | None:
        """What the records writer counted (the footer's `gosc:fill_counts`), None for other tables."""
        return self._fill.as_dict() if self._fill is not None else None

    def commit(self) -> Path | None:
        """Make the file visible under its final name (None when nothing was written)."""
        if self.seal() is None:
            return None
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        self._batches, self._batched, self.buffer.rows = [], 0, []
        self._fill = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.tmp.unlink(missing_ok=True)


class ChunkWriter:
    """The records, raw and quarantine rows of a run, committed together in numbered chunks.

    A chunk's three files become visible together before the checkpoint that names them is
    written, so a run killed at any moment can tell committed work from lost work.
    """

    def __init__(self, data_dir: Path, region: str, source_id: str, run_id: str, seq: int = 0):
        self.data_dir, self.region, self.source_id, self.run_id = Path(data_dir), region, source_id, run_id
        self.seq = seq
        self.writers = self._open()

    def _open(self) -> dict[str, PartitionWriter]:
        name = f"{self.run_id}-{self.seq:05d}"
        return {t: PartitionWriter(self.data_dir, t, self.region, self.source_id, name) for t in TABLES}

    @property
    def pending_rows(self) -> int:
        return sum(w.rows for w in self.writers.values())

    def add(self, table: str, row: tuple | dict) -> None:
        self.writers[table].add(row)

    def commit(self) -> list[str]:
        """Make the pending rows durable; returns the committed files relative to the data folder."""
        paths = [w.commit() for w in self.writers.values()]
        self.seq += 1
        self.writers = self._open()
        return [str(p.relative_to(self.data_dir)) for p in paths if p is not None]

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()
        self.writers = self._open()

    def reserve(self) -> int:
        """A chunk number for files written elsewhere (a parse worker's ChunkPart); this writer's
        own rows, none pending, go to a later number."""
        assert not self.pending_rows, "reserve() with rows pending"
        seq = self.seq
        self.seq += 1
        self.writers = self._open()
        return seq


class ChunkPart:
    """A parse worker's share of one chunk: its records, raw and quarantine rows in files named
    `part-<run>-<chunk>-<worker>.parquet`, sealed under their temporary names for the harvesting
    process to rename into place, in chunk order, before the checkpoint that names them."""

    def __init__(self, data_dir: Path, region: str, source_id: str, name: str):
        self.writers = {t: PartitionWriter(data_dir, t, region, source_id, name) for t in TABLES}

    def add(self, table: str, row: tuple | dict) -> None:
        self.writers[table].add(row)

    def seal(self) -> list[tuple[str, str, dict | None]]:
        """(temporary, final path, fill counts) of the files written, durable on disk; the counts
        (FillCounts.as_dict, records files only) let the harvester report without reading a file."""
        return [(str(w.tmp), str(w.final), w.fill_counts()) for w in self.writers.values() if w.seal() is not None]

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()


