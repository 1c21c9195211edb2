"""The build's outputs: the works files, the holdings files by region, and the manifest's counts.

Each is a sink that takes every (works chunk, holdings rows) pair as it is assembled, in stream
order, so the index is written in one pass and nothing is read back to count it.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harvest.config.schemas import arrow_schema
from harvest.index.assemble import array, from_numpy, numpy_view
from harvest.store.storage import Storage

# Parquet options: dictionaries only where values repeat (elsewhere the encoder tries one and falls
# back, which costs time and space), statistics on the top-level scalar columns readers filter on.
_WORKS_PARQUET = {
    "compression": "zstd",
    "use_dictionary": [
        "match",
        "subjects.list.element",
        "publisher",
        "resource_type",
        "language",
        "license",
        "regions.list.element",
        "provenance.list.element.source_id",
        "provenance.list.element.region",
    ],
    "write_statistics": [
        "work_id",
        "match",
        "title",
        "publisher",
        "publication_year",
        "resource_type",
        "language",
        "license",
        "region_count",
        "source_count",
    ],
}
_HOLDINGS_PARQUET = {
    "compression": "zstd",
    "use_dictionary": ["source_id"],
    "write_statistics": ["work_id", "source_id", "oai_identifier", "datestamp"],
}


class WorksFiles:
    """works/part-NNNNN.parquet, `rows_per_file` works each, in the declared index schema."""

    def __init__(self, storage: Storage, out_dir: str, rows_per_file: int):
        self.storage, self.out_dir, self.rows_per_file = storage, out_dir, rows_per_file
        self.schema = arrow_schema("index")
        self.files: list[str] = []
        self.writer, self.in_file = None, 0

    def add(self, item: tuple[pa.Table, pa.Table]) -> None:
        chunk = item[0]
        if self.writer is None or self.in_file + chunk.num_rows > self.rows_per_file:
            self.close()
            self.files.append(f"works/part-{len(self.files):05d}.parquet")
            self.writer, self.in_file = (
                self.storage.parquet_writer(f"{self.out_dir}/{self.files[-1]}", self.schema, **_WORKS_PARQUET),
                0,
            )
        self.writer.write_table(chunk.cast(self.schema))
        self.in_file += chunk.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class HoldingsFiles:
    """holdings/region=…/part-0.parquet: every (work, holding record), straight from the holdings
    stream. It arrives in (work, source_id, oai_identifier) order, so splitting each chunk by region
    (keeping that order) gives every region's rows in that order: no sort. A region's rows are
    written once `row_group` of them wait."""

    def __init__(self, storage: Storage, out_dir: str, row_group: int):
        self.storage, self.root, self.row_group = storage, f"{out_dir}/holdings", row_group
        self.schema = arrow_schema("holdings", with_partitions=False)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pending: dict[str, list[pa.Table]] = {}

    def add(self, item: tuple[pa.Table, pa.Table]) -> None:
        held = item[1]
        regions = pc.dictionary_encode(array(held.column("region")))
        codes = numpy_view(regions.indices.cast(pa.int32()))
        rows = held.select(["work_id", "source_id", "oai_identifier", "datestamp", "landing_url"])
        for code, name in enumerate(regions.dictionary.to_pylist()):
            # a take per region, rows kept in stream order: fresh buffers of that region's rows only,
            # so what waits for a full row group does not hold on to the whole chunk
            self.pending.setdefault(name, []).append(rows.take(from_numpy(np.flatnonzero(codes == code))))
            if sum(t.num_rows for t in self.pending[name]) >= self.row_group:
                self._flush(name)

    def _flush(self, region: str) -> None:
        table = pa.concat_tables(self.pending.pop(region)).cast(self.schema)
        if region not in self.writers:
            self.writers[region] = self.storage.parquet_writer(
                f"{self.root}/region={region}/part-0.parquet", self.schema, **_HOLDINGS_PARQUET
            )
        self.writers[region].write_table(table, row_group_size=table.num_rows)

    def close(self) -> None:
        for region in sorted(self.pending):
            self._flush(region)
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


class Summary:
    """The manifest's counts, from the very chunks written to the works and holdings files: works per
    region, holdings per source, works per match kind, totals (no second read of the works)."""

    def __init__(self):
        self.regions, self.sources, self.match = Counter(), Counter(), Counter()
        self.region_counts, self.source_counts = Counter(), Counter()
        self.works = 0

    @staticmethod
    def _count(counter: Counter, values) -> None:
        counts = pc.value_counts(values)
        counter.update(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))

    def add(self, item: tuple[pa.Table, pa.Table]) -> None:
        chunk, held = item
        self.works += chunk.num_rows
        self._count(self.regions, pc.list_flatten(array(chunk.column("regions"))))
        self._count(self.sources, array(held.column("source_id")))
        self._count(self.match, array(chunk.column("match")))
        self._count(self.region_counts, array(chunk.column("region_count")))
        self._count(self.source_counts, array(chunk.column("source_count")))

    def close(self) -> None:
        pass

    def result(self) -> dict:
        return {
            "regions": dict(self.regions),
            "sources": dict(self.sources),
            "match": dict(self.match),
            "totals": {
                "works": self.works,
                "cross_region_works": sum(n for k, n in self.region_counts.items() if k >= 2),
                "multi_source_works": sum(n for k, n in self.source_counts.items() if k >= 2),
            },
        }


def fan_out(chunks, sinks) -> None:
    """Every chunk to every sink, each sink in a thread of its own: Parquet encoding and compression
    (which release the GIL) overlap the assembling of the next chunk; short queues bound the chunks
    in flight. The first failure is raised here, after every thread has stopped."""
    failed: list[BaseException] = []
    queues = [queue.Queue(maxsize=2) for _ in sinks]

    def consume(sink, todo: queue.Queue) -> None:
        try:
            while (chunk := todo.get()) is not None:
                if not failed:
                    sink.add(chunk)
            sink.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            failed.append(exc)
            while todo.get() is not None:  # let the producer finish
                pass
            sink.close()

    threads = [
        threading.Thread(target=consume, args=(sink, todo), name="index-writer", daemon=True)
        for sink, todo in zip(sinks, queues)
    ]
    for thread in threads:
        thread.start()
    try:
        for chunk in chunks:
            if failed:
                break
            for todo in queues:
                todo.put(chunk)
    finally:
        for todo in queues:
            todo.put(None)
        for thread in threads:
            thread.join()
    if failed:
        raise failed[0]
