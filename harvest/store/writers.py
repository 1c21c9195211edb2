"""Writing the datasets: a run's rows in numbered chunks, each chunk's files written under
dot-prefixed temporary names that readers ignore and renamed into place together on commit.

Rows arrive as Arrow tables of the declared schema (a page's, from harvest.records) or one by one
(census tombstones, retransformed records); each file is written in row groups of `flush_rows`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harvest.records.tables import TABLES, ColumnBuffer
from harvest.store.datasets import partition_dir
from harvest.store.fills import FILL_KEY, FillCounts
from harvest.store.storage import Storage, as_storage

if TYPE_CHECKING:
    import pyarrow as pa


# Parquet options per table, as for the index (harvest.index.sinks): dictionaries only for columns whose
# values repeat within a file (for the others the encoder builds one, finds it too big and falls
# back: time spent for nothing), min/max statistics only where a reader filters, never on free text
# (a whole XML record or abstract as a page's "maximum"). Leaves of nested columns by their path.
_LIST = ".list.element"
TABLE_PARQUET = {
    "records": {
        "use_dictionary": [
            "set_specs" + _LIST,
            "metadata_prefix",
            "subjects" + _LIST,
            "publisher",
            "publication_year",
            "resource_type",
            "language",
            "license",
            "run_id",
            "harvested_at",
            "crosswalk_version",
            *(f"creators{_LIST}.{f}" for f in ("name", "family_name", "affiliation")),
            f"identifiers{_LIST}.scheme",
            *(f"related_identifiers{_LIST}.{f}" for f in ("relation", "scheme")),
            *(f"originals{_LIST}.{f}" for f in ("field", "value")),
        ],
        "write_statistics": [
            "oai_identifier",
            "datestamp",
            "deleted",
            "metadata_prefix",
            "publisher",
            "publication_year",
            "resource_type",
            "language",
            "license",
            "primary_pid",
            "run_id",
            "harvested_at",
            "crosswalk_version",
        ],
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
    """One table's rows of one chunk into one Parquet file, committed atomically. Rows given one by
    one become Arrow every `batch_rows`; tables are kept until `flush_rows` rows make a row group."""

    def __init__(
        self,
        storage: Storage | Path,
        table: str,
        region: str,
        source_id: str,
        name: str,
        flush_rows: int = 5000,
        batch_rows: int = 1000,
    ):
        self.storage, self.table = as_storage(storage), table
        folder = partition_dir(table, region, source_id)
        self.final = f"{folder}/part-{name}.parquet"
        self.tmp = f"{folder}/.part-{name}.parquet.tmp"
        self.buffer = ColumnBuffer(table)
        self.flush_rows = flush_rows
        self.batch_rows = min(batch_rows, flush_rows)
        self.rows = 0
        self._tables: list = []  # Arrow tables waiting for their row group
        self._pending = 0
        self._writer = None  # a ParquetWriter once the first row group is written
        self._fill = FillCounts() if table == "records" else None  # for the file's footer

    def add(self, row: tuple | dict) -> None:
        self.buffer.rows.append(row)
        self.rows += 1
        if len(self.buffer) >= self.batch_rows:
            self._keep(self.buffer.take())

    def add_table(self, table: pa.Table) -> None:
        if table.num_rows:
            self.rows += table.num_rows
            self._keep(table)

    def _keep(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._pending += table.num_rows
        if self._pending >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if len(self.buffer):
            self._tables.append(self.buffer.take())
        if not self._tables:
            return
        import pyarrow as pa

        if self._writer is None:
            self._writer = self.storage.parquet_writer(
                self.tmp, self.buffer.schema, compression="zstd", **TABLE_PARQUET.get(self.table, {})
            )
        table = pa.concat_tables(self._tables)  # no copy: the tables become the row group's chunks
        self._tables, self._pending = [], 0
        if self._fill is not None:  # counted per row group: a few compute calls for thousands of rows
            self._fill.add(table)
        self._writer.write_table(table, row_group_size=max(len(table), 1))  # one row group

    def seal(self) -> str | None:
        """Finish the temporary file and make it durable, still under its temporary name (None
        when nothing was written)."""
        self.flush()
        if self._writer is None:
            return None
        if self._fill is not None:  # the validation report reads this, not the records again
            self._writer.add_key_value_metadata({FILL_KEY: self._fill.dumps()})
        self._writer.close()
        self._writer = None
        self.storage.sync(self.tmp)
        return self.tmp

    def commit(self) -> str | None:
        """Seal the file and rename it into place; its name (None when nothing was written)."""
        if self.seal() is None:
            return None
        self.storage.rename(self.tmp, self.final)
        return self.final

    def fill_counts(self) -> dict | None:
        """What the records writer counted (the footer's `gosc:fill_counts`), None for other tables."""
        return self._fill.as_dict() if self._fill is not None else None

    def abort(self) -> None:
        self._tables, self._pending, self.buffer.rows = [], 0, []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.storage.delete(self.tmp)


class ChunkWriter:
    """The records, raw and quarantine rows of a run, committed together in numbered chunks
    (`part-<run>-<chunk>.parquet`).

    A chunk's files become visible together before the checkpoint that names them is written, so
    a run killed at any moment can tell committed work from lost work.
    """

    def __init__(self, storage: Storage | Path, region: str, source_id: str, run_id: str, seq: int = 0):
        storage = as_storage(storage)
        self.storage, self.region, self.source_id, self.run_id = storage, region, source_id, run_id
        self.seq = seq
        self.fills: dict[str, dict] = {}  # committed records files: their fill counts
        self.writers = self._open()

    def _open(self) -> dict[str, PartitionWriter]:
        name = f"{self.run_id}-{self.seq:05d}"
        return {t: PartitionWriter(self.storage, t, self.region, self.source_id, name) for t in TABLES}

    @property
    def pending_rows(self) -> int:
        return sum(w.rows for w in self.writers.values())

    def add(self, table: str, row: tuple | dict) -> None:
        self.writers[table].add(row)

    def add_tables(self, tables: dict[str, pa.Table]) -> None:
        """A page's tables (harvest.records.pages.PageTables.tables)."""
        for name, table in tables.items():
            self.writers[name].add_table(table)

    def commit(self) -> list[str]:
        """Make the pending rows durable and visible; the files committed (none for no rows)."""
        files = []
        for w in self.writers.values():
            if w.commit() is not None:
                files.append(w.final)
                if w.fill_counts() is not None:
                    self.fills[w.final] = w.fill_counts()
        self.seq += 1
        self.writers = self._open()
        return files

    def abort(self) -> None:
        """Drop the pending rows (their pages are fetched again)."""
        for w in self.writers.values():
            w.abort()
        self.writers = self._open()
