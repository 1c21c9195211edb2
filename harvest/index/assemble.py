"""Index rows from the sorted narrow streams: each work's wide fields and its provenance list.

Both streams come in the order of each work's chosen record (see cluster), so the chosen records'
wide fields are read from their files in file order and each work's holdings are the next rows of
the holdings stream: no wide row is ever joined or sorted.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harvest.config.schemas import arrow_schema
from harvest.errors import IndexBuildError
from harvest.store.storage import Storage

# what the index takes from the chosen record of a work
_WIDE_COLUMNS = [
    "title",
    "creators",
    "subjects",
    "description",
    "publisher",
    "publication_year",
    "resource_type",
    "language",
    "license",
    "landing_url",
]
_PROVENANCE_FIELDS = ["source_id", "region", "oai_identifier", "datestamp", "landing_url"]
_INDEX_COLUMNS = [f.name for f in arrow_schema("index")]


def parquet_stream(path: Path, batch_rows: int) -> pa.RecordBatchReader:
    """A sorted stream DuckDB wrote to the build's scratch folder, read back in order, one row group
    (`batch_rows`) at a time (without pre-buffering, which would read every row group up front)."""
    batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)
    return pa.RecordBatchReader.from_batches(pq.read_schema(path), batches)


def work_chunks(reader: pa.RecordBatchReader, size: int, max_holdings: int):
    """Tables of at most `size` works that hold at most `max_holdings` records in all (a work with
    more holdings than that is a chunk of its own; one empty table for no rows), whatever the sizes
    of the reader's batches: row groups depend only on the works, and a few large clusters do not
    make a chunk of a million provenance entries."""
    pending: list[pa.RecordBatch] = []
    rows = held = 0
    emitted = False
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        held += pc.sum(batch.column("n")).as_py() or 0
        while rows >= size or held > max_holdings:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            counts = np.cumsum(numpy_view(array(table.column("n"))))
            cut = min(size, max(1, int(np.searchsorted(counts, max_holdings, side="right"))))
            yield table.slice(0, cut)
            emitted = True
            rest = table.slice(cut)
            pending, rows, held = rest.to_batches(), rest.num_rows, int(counts[-1] - counts[cut - 1])
    if rows or not emitted:
        yield pa.Table.from_batches(pending, schema=reader.schema)


def with_wide_fields(works, storage: Storage, files: list[str]):
    """Each narrow works chunk (in `rep` order) with its chosen records' wide fields, in index column order."""
    chosen = _ChosenRows(storage, files)
    for chunk in works:
        wide = chosen.take(array(chunk.column("rep")))
        columns = {name: chunk.column(name) for name in chunk.column_names}
        columns.update({name: wide.column(name) for name in _WIDE_COLUMNS})
        yield pa.table({name: columns[name] for name in [*_INDEX_COLUMNS[:-1], "rep", "n"]})


class _ChosenRows:
    """The wide fields of records by rid (file index << 32 | row), asked for in ascending order: each
    file's row groups are read once, in order, one at a time; files and row groups holding no chosen
    record are skipped. Files written by an older schema get nulls for the columns they lack."""

    def __init__(self, storage: Storage, files: list[str]):
        self.storage, self.files = storage, files
        self.wanted = arrow_schema("records", with_partitions=False)
        self.file_index, self.file = -1, None
        self.group, self.group_start, self.group_rows, self.table = -1, 0, 0, None

    def take(self, rids: pa.Array) -> pa.Table:
        rid = numpy_view(rids)
        file_of, row_of = rid >> 32, rid & 0xFFFFFFFF
        pieces = []
        cuts = np.flatnonzero(np.diff(file_of)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(rid)]):
            pieces.extend(self._from_file(int(file_of[lo]), row_of[lo:hi]))
        if not pieces:
            return pa.table({name: pa.nulls(0, self.wanted.field(name).type) for name in _WIDE_COLUMNS})
        return pa.concat_tables(pieces)

    def _from_file(self, index: int, rows: np.ndarray):
        if index != self.file_index:
            if index < self.file_index:
                raise IndexBuildError("consolidation failed: chosen records asked for out of order")
            self.file_index, self.file = index, self.storage.parquet_file(self.files[index])
            self.group, self.group_start, self.group_rows, self.table = -1, 0, 0, None
        done = 0
        while done < len(rows):
            while rows[done] >= self.group_start + self.group_rows:
                self.group += 1
                if self.group >= self.file.num_row_groups:
                    raise IndexBuildError(f"consolidation failed: {self.files[index]} has fewer rows than indexed")
                self.group_start += self.group_rows
                self.group_rows, self.table = self.file.metadata.row_group(self.group).num_rows, None
            end = done + int(np.searchsorted(rows[done:], self.group_start + self.group_rows))
            if self.table is None:
                self.table = self._read_group()
            yield self.table.take(from_numpy(rows[done:end] - self.group_start))
            done = end

    def _read_group(self) -> pa.Table:
        present = set(self.file.schema_arrow.names)
        table = self.file.read_row_group(self.group, columns=[c for c in _WIDE_COLUMNS if c in present])
        return pa.table(
            {
                name: (
                    table.column(name).cast(self.wanted.field(name).type)
                    if name in present
                    else pa.nulls(table.num_rows, self.wanted.field(name).type)
                )
                for name in _WIDE_COLUMNS
            }
        )


def with_provenance(works, holdings: pa.RecordBatchReader):
    """(works chunk with its provenance column, that chunk's holdings rows) pairs: each work's `n`
    holdings are the next n rows of the holdings stream, which become its provenance list."""
    taker = _Taker(holdings)
    try:
        for chunk in works:
            counts = array(chunk.column("n"))
            held = taker.take(pc.sum(counts).as_py() or 0)
            offsets = pa.concat_arrays([_ZERO, pc.cumulative_sum(counts).cast(pa.int32())])
            parent = pc.list_parent_indices(pa.ListArray.from_arrays(offsets, pa.nulls(len(held), pa.null())))
            if not pc.all(pc.equal(array(held.column("rep")), array(chunk.column("rep")).take(parent))).as_py():
                raise IndexBuildError("consolidation failed: the works and holdings streams are out of step")
            held = held.append_column("work_id", array(chunk.column("work_id")).take(parent))
            values = pa.StructArray.from_arrays(
                [array(held.column(name)) for name in _PROVENANCE_FIELDS], names=_PROVENANCE_FIELDS
            )
            provenance = pa.ListArray.from_arrays(offsets, values)
            yield chunk.drop_columns(["rep", "n"]).append_column("provenance", provenance), held
        if not taker.exhausted():
            raise IndexBuildError("consolidation failed: holdings left over after the last work")
    finally:
        taker.close()


class _Taker:
    """Exactly n rows at a time from a record batch reader, read ahead in a thread of its own (the
    holdings are decoded while the works' wide fields are read and the works written)."""

    def __init__(self, reader: pa.RecordBatchReader, ahead: int = 4):
        self.schema, self.pending, self.rows = reader.schema, [], 0
        self.batches: queue.Queue = queue.Queue(maxsize=ahead)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(reader,), name="index-holdings", daemon=True)
        self.thread.start()

    def _read(self, reader: pa.RecordBatchReader) -> None:
        try:
            for batch in reader:
                while not self.stop.is_set():
                    try:
                        self.batches.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
            item = None
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            item = exc
        while not self.stop.is_set():
            try:
                self.batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()

    def _next(self) -> pa.RecordBatch | None:
        if self.thread is None:
            return None
        item = self.batches.get()
        if item is None or isinstance(item, BaseException):
            self.thread.join()
            self.thread = None
            if item is not None:
                raise item
        return item

    def exhausted(self) -> bool:
        while self.rows == 0 and (batch := self._next()) is not None:
            self.rows += batch.num_rows
        return self.rows == 0

    def take(self, n: int) -> pa.Table:
        while self.rows < n and (batch := self._next()) is not None:
            self.pending.append(batch)
            self.rows += batch.num_rows
        table = pa.Table.from_batches(self.pending, schema=self.schema)
        if table.num_rows < n:
            raise IndexBuildError("consolidation failed: the holdings stream ended before the works")
        rest = table.slice(n)
        self.pending, self.rows = rest.to_batches(), rest.num_rows
        return table.slice(0, n)


# Arrow and numpy helpers, shared with the sinks: no copy where one can be avoided, and no pandas
def array(column: pa.ChunkedArray) -> pa.Array:
    """One array for a column, copied only if it is in several pieces (combine_chunks always copies)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


_NUMPY = {pa.int32(): np.int32, pa.int64(): np.int64}


def numpy_view(values: pa.Array) -> np.ndarray:
    """A null-free int32/int64 array as a numpy view of its buffer."""
    # not pyarrow's to_numpy: it imports pandas on first use (~0.15 s and ~45 MB of a build that never needs it)
    if values.null_count:
        raise IndexBuildError("consolidation failed: a null where the build's own columns have none")
    dtype = _NUMPY[values.type]
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype().itemsize)


def from_numpy(values: np.ndarray, type_: pa.DataType = pa.int64()) -> pa.Array:
    """An int32/int64 Arrow array over a numpy array's memory (pa.array would load pandas)."""
    values = np.ascontiguousarray(values, dtype=_NUMPY[type_])
    return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)])


_ZERO = from_numpy(np.zeros(1), pa.int32())
