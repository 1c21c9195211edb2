"""The index build: every committed records file consolidated into one row per work across regions.

Only the orchestration is here, so the order of the steps and what each is given can be read in one
place: cluster stages and clusters the records in DuckDB and writes the works and their holdings as
two sorted narrow streams; assemble turns those into index rows (each work's wide fields and
provenance list); sinks write the works files, the holdings files by region and the manifest's counts.
"""

from __future__ import annotations

import shutil

import duckdb

from harvest.errors import IndexBuildError
from harvest.index.assemble import parquet_stream, with_provenance, with_wide_fields, work_chunks
from harvest.index.cluster import BuildStats, connect, drop, stage, works, write_sorted_streams
from harvest.index.sinks import HoldingsFiles, Summary, WorksFiles, fan_out
from harvest.store.datasets import committed_files
from harvest.store.storage import Storage

# rows per row group of the sorted streams and of the holdings files, and the most works in a chunk
# (a row group of the works files)
_ROW_GROUP = 20_000
# at most this many holdings (provenance entries) in one chunk of works
_MAX_HOLDINGS = 40_000


def build_works(
    storage: Storage,
    out_dir: str,
    *,
    priorities: dict[str, int] | None = None,
    rows_per_file: int = 250_000,
    memory_limit: str | None = None,
) -> tuple[list[str], BuildStats]:
    """Consolidate every committed records file into out_dir/works/part-NNNNN.parquet files, and
    out_dir/holdings/region=…/part-0.parquet (one row per work and holding record); returns the works files.

    Works are in the order of their chosen records in the records files (sorted by path: region,
    source, run, chunk; then row) and cut into files of `rows_per_file` works (row groups of a fixed
    size): the same inputs give byte-identical files.
    """
    files = committed_files(storage, "records")
    if not files:
        raise IndexBuildError(f"no harvested records under {storage.local('records')}: run a harvest first")
    # DuckDB's scratch folder (its spill files and the sorted streams), beside the output
    parent, _, name = out_dir.rpartition("/")
    work_dir = storage.local(f"{parent}/.work-{name}")
    con = connect(work_dir, memory_limit)
    stream = None
    try:
        stats = stage(con, [storage.local(f) for f in files], priorities or {})
        works(con)
        drop(con, "py_fb")
        # both streams sorted into narrow Parquet files in the work directory; then DuckDB is closed,
        # so its memory is free before the output is written (the streams read back one row group at a time)
        sorted_files = write_sorted_streams(con, work_dir, _ROW_GROUP)
        con.close()
        holdings, narrow = (parquet_stream(sorted_files[name], _ROW_GROUP) for name in ("holdings", "works"))
        sinks = [WorksFiles(storage, out_dir, rows_per_file), HoldingsFiles(storage, out_dir, _ROW_GROUP), Summary()]
        chunks = work_chunks(narrow, min(_ROW_GROUP, rows_per_file), _MAX_HOLDINGS)
        stream = with_provenance(with_wide_fields(chunks, storage, files), holdings)
        fan_out(stream, sinks)
        stats.summary = sinks[2].result()
    except duckdb.Error as exc:
        raise IndexBuildError(f"consolidation failed: {exc}") from exc
    finally:
        if stream is not None:
            stream.close()  # stops the holdings read-ahead thread before its file is removed
        con.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    return sinks[0].files, stats
