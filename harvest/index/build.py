"""Consolidation: every source's records → one row per work across regions, as SQL in DuckDB.

DuckDB reads the records Parquet out of core (its buffer manager spills to disk past the memory
limit). Steps: one narrow pass over every version (PID keys, and the fallback key of PID-less
records, computed on the way; the latest version of each (source, OAI identifier) kept) → drop
tombstones → link records that share a normalised PID (or, for PID-less records, a Unicode-aware
fallback key) → connected components by label propagation over the keys that are shared at all, so
A–B by DOI and B–C by Handle make one work → one narrow row per work with its most complete record
(ties: source priority) → two streams in the order of those chosen records: the works, whose wide
fields are read from the chosen records' file rows in file order, and their holdings, which become
each work's provenance list and the region-partitioned holdings table.
"""
from __future__ import annotations

import hashlib
import os
import queue
import shutil
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harvest.crosswalk.normalize import PID_SCHEMES
from harvest.errors import IndexBuildError
from harvest.index.matchkeys import fallback_key
from harvest.config.schemas import arrow_schema
from harvest.store.datasets import committed_files, iter_batches

_PID_LIST = ", ".join(f"'{s}'" for s in PID_SCHEMES)
assert len(PID_SCHEMES) <= 10, "the PID rank is one digit"
MAX_ITERATIONS = 100
_KEY_SCHEMA = pa.schema([("rid", pa.int64()), ("k", pa.string())])
_ROW_GROUP = 20_000
# at most this many holdings (provenance entries) in one chunk of works
_MAX_HOLDINGS = 40_000


def _ranked(k: str) -> str:
    """rank digit || key: the best PID of a set is its min (rank in PID_SCHEMES first, then the key)."""
    whens = " ".join(f"WHEN '{s}' THEN '{i}'" for i, s in enumerate(PID_SCHEMES))
    return f"(CASE split_part({k}, ':', 1) {whens} ELSE '9' END || {k})"


def _best_pid(keys: str) -> str:
    return f"substr(list_min(list_transform({keys}, k -> {_ranked('k')})), 2)"


def _ascii(text: str) -> str:
    """True for NULL or pure-ASCII text (a byte per character)."""
    return f"({text} IS NULL OR strlen({text}) = length({text}))"


def _ascii_fold(text: str) -> str:
    """matchkeys.fold for ASCII text: NFKD/NFKC change nothing there, casefold is lower(), and only
    a-z and 0-9 are letters or digits."""
    return f"coalesce(regexp_replace(lower({text}), '[^a-z0-9]+', '', 'g'), '')"


def fallback_key_sql(title: str, year: str, family: str) -> str:
    """The SQL form of matchkeys.fallback_key, exact for ASCII title and family name (NULL when the
    key is None); `fallback_key_in_python` says which rows it does not cover."""
    t = _ascii_fold(title)
    return f"CASE WHEN {t} <> '' AND {year} IS NOT NULL THEN {t} || '|' || {year} || '|' || {_ascii_fold(family)} END"


def fallback_key_in_python(title: str, year: str, family: str) -> str:
    """True for the rows whose fallback key needs matchkeys (non-ASCII title or family name)."""
    return f"({title} IS NOT NULL AND {year} IS NOT NULL AND NOT ({_ascii(title)} AND {_ascii(family)}))"


@dataclass
class BuildStats:
    records_in: int
    tombstones: int
    live_records: int
    iterations: int
    # the manifest's counts of what was written: regions, sources, match, totals
    summary: dict = field(default_factory=dict)


# DuckDB's memory budget when the caller names none: fixed, not a share of the machine, so the
# build's peak memory does not grow with the input (past it, DuckDB spills to the work directory),
# and a few threads at most (each thread's buffers count against the same budget).
DEFAULT_MEMORY_LIMIT = "384MB"
MAX_THREADS = 4


def _connect(work_dir: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """A scratch database whose tables live in DuckDB's buffer manager and spill to work_dir past
    `memory_limit` (an in-memory catalog: no database file to compress and checkpoint), so the
    build runs out of core."""
    work_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit or DEFAULT_MEMORY_LIMIT}'")
    con.execute(f"SET threads = {max(1, min(os.cpu_count() or 1, MAX_THREADS))}")
    con.execute(f"SET temp_directory = '{work_dir / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")   # a library: nothing on stdout
    return con


_COMPLETENESS = """(title IS NOT NULL)::INT + (len(creators) > 0)::INT + (description IS NOT NULL)::INT
    + (publisher IS NOT NULL)::INT + (publication_year IS NOT NULL)::INT + (resource_type IS NOT NULL)::INT
    + (language IS NOT NULL)::INT + (license IS NOT NULL)::INT + (len(subjects) > 0)::INT"""

_FAMILY = "creators[1].family_name"
# a version's id: the file's place in the (sorted) list of files and the row's place in the file
_RID = "((file_index::BIGINT << 32) | file_row_number)"
# what the index takes from the chosen record of a work
_WIDE_COLUMNS = ["title", "creators", "subjects", "description", "publisher", "publication_year", "resource_type",
                 "language", "license", "landing_url"]


def _pid_keys(ids: str) -> str:
    """The distinct 'scheme:value' keys of a record's PIDs; no lambdas for the usual zero or one."""
    one = f"{ids}[1]"
    return f"""(CASE WHEN len({ids}) = 0 THEN []::VARCHAR[]
        WHEN len({ids}) = 1 THEN CASE WHEN {one}.scheme IN ({_PID_LIST}) AND {one}.value IS NOT NULL
                                      THEN [{one}.scheme || ':' || {one}.value] ELSE []::VARCHAR[] END
        ELSE list_distinct(list_transform(list_filter({ids}, i -> i.scheme IN ({_PID_LIST}) AND i.value IS NOT NULL),
                                          i -> i.scheme || ':' || i.value)) END)"""


_PID_KEYS = _pid_keys("coalesce(identifiers, [])")


def _scan(files: list[Path]) -> str:
    return f"read_parquet({[str(f) for f in files]!r}, hive_partitioning = true, union_by_name = true)"


def _stage(con, files: list[Path], priorities: dict[str, int]) -> BuildStats:
    con.execute("CREATE TABLE priority(source_id VARCHAR, priority INTEGER)")
    if priorities:
        con.executemany("INSERT INTO priority VALUES (?, ?)", sorted(priorities.items()))
    # one narrow pass over every version: the latest version of every (source, identifier) with
    # what clustering, choosing and provenance need (keys computed on the way; the wide columns are
    # read again only for the chosen records, at the end)
    no_pid = "len(pid_keys) = 0"
    # The latest version of each (source, identifier). Most identifiers have one version: a first
    # scan of two columns finds the identifier hashes held by several rows (every identifier with
    # several versions, and the odd hash collision), a second, narrow one ranks only those rows'
    # versions, and the wide pass skips the versions superseded there.
    con.execute(f"""
        CREATE TABLE shared AS
        SELECT h FROM (SELECT hash(source_id, oai_identifier) AS h FROM {_scan(files)}) GROUP BY h HAVING count(*) > 1""")
    superseded = ""
    if con.execute("SELECT count(*) FROM shared").fetchall()[0][0]:
        con.execute(f"""
            CREATE TABLE superseded AS
            SELECT rid FROM (
                SELECT {_RID} AS rid, hash(source_id, oai_identifier) AS h, source_id, oai_identifier, datestamp,
                       harvested_at, run_id, deleted
                FROM {_scan(files)})
            WHERE h IN (SELECT h FROM shared)
            QUALIFY row_number() OVER (PARTITION BY source_id, oai_identifier
                                       ORDER BY datestamp DESC, harvested_at DESC, run_id DESC, deleted DESC,
                                                rid DESC) > 1""")
        superseded = f"WHERE {_RID} NOT IN (SELECT rid FROM superseded)"
    con.execute(f"""
        CREATE TABLE live AS
        SELECT rid, v.source_id, region, oai_identifier, datestamp, landing_url, completeness, deleted, pid_keys,
               CASE WHEN {no_pid} THEN 'fb:' || {fallback_key_sql('title', 'publication_year', 'family')} END AS fb,
               CASE WHEN {no_pid} AND {fallback_key_in_python('title', 'publication_year', 'family')}
                    THEN {{'title': title, 'year': publication_year, 'family': family}} END AS py_fb_input,
               coalesce(p.priority, 50) AS priority
        FROM (
            SELECT {_RID} AS rid, source_id, region, oai_identifier, datestamp, deleted, landing_url,
                   {_COMPLETENESS} AS completeness, {_PID_KEYS} AS pid_keys, title, publication_year,
                   {_FAMILY} AS family
            FROM {_scan(files)} {superseded}
        ) v LEFT JOIN priority p ON p.source_id = v.source_id""")
    _drop(con, "shared", "superseded")
    records_in, tombstones = con.execute("SELECT count(*), count(*) FILTER (WHERE deleted) FROM live").fetchall()[0]
    con.execute("DELETE FROM live WHERE deleted")   # tombstones remove the record from every work
    _python_fallback_keys(con)
    con.execute("""
        CREATE TABLE rec_key AS
        SELECT rid, unnest(pid_keys) AS k FROM live WHERE len(pid_keys) > 0
        UNION ALL
        SELECT rid, fb FROM live WHERE fb IS NOT NULL""")
    iterations = _components(con)
    _drop(con, "rec_key", "edge")
    return BuildStats(records_in, tombstones, records_in - tombstones, iterations)


def _drop(con, *tables: str) -> None:
    """Free what later steps do not read: the memory goes back to the statements that follow."""
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _python_fallback_keys(con, batch_rows: int = 100_000) -> None:
    """Fallback keys of the PID-less records with a non-ASCII title or family name, by matchkeys
    (Unicode normalisation, case folding, transliteration), batch by batch; every other key was
    computed in SQL when `live` was made."""
    reader = con.sql("""SELECT rid, py_fb_input.title, py_fb_input.year AS publication_year, py_fb_input.family
                        FROM live WHERE py_fb_input IS NOT NULL""").to_arrow_reader(batch_rows)
    batches = []
    for batch in reader:
        cols = batch.to_pydict()
        rows = [(r, "fb:" + k) for r, t, y, f in zip(cols["rid"], cols["title"], cols["publication_year"], cols["family"])
                if (k := fallback_key(t, y, f)) is not None]
        if rows:
            batches.append(pa.table(list(map(list, zip(*rows))), schema=_KEY_SCHEMA))
    if batches:   # the reader must be exhausted before the connection takes new statements
        con.from_arrow(pa.concat_tables(batches)).create("py_fb")
        con.execute("UPDATE live SET fb = py_fb.k FROM py_fb WHERE live.rid = py_fb.rid")


def _components(con) -> int:
    """Connected components of records linked by shared keys: every record of a component of two or
    more ends with the same label (its smallest rid) in `label`; records with no shared key are works
    of their own and have no row there."""
    con.execute("""
        CREATE TABLE edge AS
        WITH shared AS (SELECT k, min(rid) AS kid FROM rec_key GROUP BY k HAVING count(*) > 1)
        SELECT rk.rid, s.kid FROM rec_key rk JOIN shared s USING (k)""")
    # a key's id is its smallest rid, so the first labels are already one step of propagation
    con.execute("CREATE TABLE label AS SELECT rid, min(kid) AS lbl FROM edge GROUP BY rid")
    for iteration in range(1, MAX_ITERATIONS + 1):
        con.execute("""
            CREATE OR REPLACE TABLE next_label AS
            WITH key_lbl AS (SELECT e.kid, min(l.lbl) AS lbl FROM edge e JOIN label l USING (rid) GROUP BY e.kid),
                 rec_lbl AS (SELECT e.rid, min(kl.lbl) AS lbl FROM edge e JOIN key_lbl kl USING (kid) GROUP BY e.rid)
            -- pointer jumping: a label's own label is in the same component, and often smaller
            SELECT r.rid, least(r.lbl, coalesce(j.lbl, r.lbl)) AS lbl, least(r.lbl, coalesce(j.lbl, r.lbl)) < l.lbl AS changed
            FROM rec_lbl r JOIN label l ON l.rid = r.rid LEFT JOIN label j ON j.rid = r.lbl""")
        changed = con.execute("SELECT count(*) FILTER (WHERE changed) FROM next_label").fetchall()[0][0]
        con.execute("DROP TABLE label")
        con.execute("CREATE TABLE label AS SELECT rid, lbl FROM next_label")
        con.execute("DROP TABLE next_label")
        if changed == 0:
            return iteration
    raise IndexBuildError(f"PID clustering did not converge in {MAX_ITERATIONS} iterations")


# One narrow row per work, in the `work` table: `wkey` (the component's label for works of several
# records, the record's rid for a work of one: unique either way), `n` holdings. Works of one record
# come straight from `live`; works of several are aggregated over their members. The aggregate's
# list states do not spill, so works of several records are aggregated in passes over slices of the
# components (by a hash of the label) of at most ~_MEMBERS_PER_PASS member records each: memory stays
# bounded however large the input. Provenance is not aggregated at all: the holdings stream, sorted
# the same way as the works, becomes each work's provenance list as it is written.
_MEMBERS_PER_PASS = 450_000

_MULTI_SQL = f"""
WITH multi AS (
    SELECT lb.lbl,
           arg_min(lv.rid, (-lv.completeness, -lv.priority, -epoch_us(lv.datestamp), lv.source_id, lv.oai_identifier))
               AS rep,
           list_sort(list_distinct(flatten(list(lv.pid_keys)))) AS pids,
           min(lv.fb) AS fb,
           list_sort(list_distinct(list(lv.region))) AS regions,
           len(list_distinct(list(lv.source_id)))::INTEGER AS source_count,
           count(*)::INTEGER AS n
    FROM __LABELS__ lb JOIN live lv USING (rid)
    GROUP BY lb.lbl
)
SELECT lbl AS wkey, coalesce({_best_pid('pids')}, 'fb:' || substr(md5(fb), 1, 16)) AS work_id,
       CASE WHEN len(pids) = 0 THEN 'fallback' ELSE 'pid' END AS match,
       rep, pids, regions, source_count, n
FROM multi
"""

_SINGLE_SQL = f"""
SELECT rid, CASE WHEN len(pid_keys) = 1 THEN pid_keys[1]
            ELSE coalesce({_best_pid('pid_keys')}, 'fb:' || substr(md5(fb), 1, 16),
                          'rec:' || substr(md5(source_id || ' ' || oai_identifier), 1, 16)) END,
       'single', rid, CASE WHEN len(pid_keys) < 2 THEN pid_keys ELSE list_sort(pid_keys) END,
       [region], 1, 1
FROM live ANTI JOIN label USING (rid)
"""


def _works(con) -> int:
    """The `work` table; returns the number of passes over the works of several records."""
    members = con.execute("SELECT count(*) FROM label").fetchall()[0][0]
    parts = max(1, -(-members // _MEMBERS_PER_PASS))
    if parts == 1:   # one statement over the whole label table: the planner likes it best
        con.execute(f"CREATE TABLE work AS {_MULTI_SQL.replace('__LABELS__', 'label')} UNION ALL {_SINGLE_SQL}")
        return 1
    sliced = _MULTI_SQL.replace("__LABELS__", "(SELECT rid, lbl FROM label WHERE hash(lbl) % $parts = $part)")
    for part in range(parts):
        head = "CREATE TABLE work AS" if part == 0 else "INSERT INTO work"
        con.execute(f"{head} {sliced}", {"parts": parts, "part": part})
    con.execute(f"INSERT INTO work {_SINGLE_SQL}")
    return parts


# Works and holdings are two streams in the same order, that of each work's chosen record (`rep`, a
# record's place in the sorted list of records files): a works row with `n` holdings is followed, in
# the holdings stream, by its n rows. Sorting the narrow rows only, and reading the chosen records'
# wide fields in file order (`_ChosenRows`), no wide row is ever joined or sorted.
_HOLDINGS_SQL = """
SELECT w.rep, lv.source_id, lv.region, lv.oai_identifier, lv.datestamp, lv.landing_url
FROM live lv LEFT JOIN label lb USING (rid) JOIN work w ON w.wkey = coalesce(lb.lbl, lv.rid)
ORDER BY w.rep, lv.source_id, lv.oai_identifier
"""
_WORKS_SQL = """
SELECT work_id, match, rep, pids, regions, len(regions)::INTEGER AS region_count, source_count, n
FROM work ORDER BY rep
"""


def build_works(records_dir: Path, out_dir: Path, *, priorities: dict[str, int] | None = None,
                rows_per_file: int = 250_000, memory_limit: str | None = None) -> tuple[list[str], BuildStats]:
    """Consolidate every committed records file into out_dir/works/part-NNNNN.parquet files, and
    out_dir/holdings/region=…/part-0.parquet (one row per work and holding record); returns the works files.

    Works are in the order of their chosen records in the records files (sorted by path: region,
    source, run, chunk; then row) and cut into files of `rows_per_file` works (row groups of a fixed
    size): the same inputs give byte-identical files.
    """
    files = committed_files(records_dir, "records")
    if not files:
        raise IndexBuildError(f"no harvested records under {Path(records_dir) / 'records'}: run a harvest first")
    work_dir = out_dir.parent / f".work-{out_dir.name}"
    con = _connect(work_dir, memory_limit)
    stream = None
    # Arrow's system allocator for the build (measured at 1 M records: ~10 % faster and ~100 MB less
    # than mimalloc, which keeps what the writer threads free); buffers remember their pool, so the
    # previous default comes back afterwards
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        stats = _stage(con, files, priorities or {})
        _works(con)
        _drop(con, "py_fb")
        # both streams sorted, one after the other (each sort gets the whole budget), into narrow
        # Parquet files in the work directory; then DuckDB is closed, so its memory is free before
        # the output is written (the streams read back one row group at a time)
        con.execute("SET preserve_insertion_order = true")
        sorted_files = {name: work_dir / f"{name}-sorted.parquet" for name in ("holdings", "works")}
        for name, sql in (("holdings", _HOLDINGS_SQL), ("works", _WORKS_SQL)):
            con.execute(f"COPY ({sql}) TO '{sorted_files[name]}' "
                        f"(FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE {_ROW_GROUP})")
        con.close()
        holdings, works = (_parquet_stream(sorted_files[name]) for name in ("holdings", "works"))
        sinks = [_WorksFiles(out_dir, rows_per_file), _HoldingsFiles(out_dir), _Summary()]
        chunks = _work_chunks(works, min(_ROW_GROUP, rows_per_file), _MAX_HOLDINGS)
        stream = _with_provenance(_with_wide_fields(chunks, files), holdings)
        _fan_out(stream, sinks)
        stats.summary = sinks[2].result()
    except duckdb.Error as exc:
        raise IndexBuildError(f"consolidation failed: {exc}") from exc
    finally:
        if stream is not None:
            stream.close()   # stops the holdings read-ahead thread before its file is removed
        con.close()
        pa.set_memory_pool(pool)
        shutil.rmtree(work_dir, ignore_errors=True)
    return sinks[0].files, stats


_PROVENANCE_FIELDS = ["source_id", "region", "oai_identifier", "datestamp", "landing_url"]
_INDEX_COLUMNS = [f.name for f in arrow_schema("index")]


def _with_wide_fields(works, files: list[Path]):
    """Each narrow works chunk (in `rep` order) with its chosen records' wide fields, in index column order."""
    chosen = _ChosenRows(files)
    for chunk in works:
        wide = chosen.take(_array(chunk.column("rep")))
        columns = {name: chunk.column(name) for name in chunk.column_names}
        columns.update({name: wide.column(name) for name in _WIDE_COLUMNS})
        yield pa.table({name: columns[name] for name in [*_INDEX_COLUMNS[:-1], "rep", "n"]})


class _ChosenRows:
    """The wide fields of records by rid (file index << 32 | row), asked for in ascending order: each
    file's row groups are read once, in order, one at a time; files and row groups holding no chosen
    record are skipped. Files written by an older schema get nulls for the columns they lack."""

    def __init__(self, files: list[Path]):
        self.files = files
        self.wanted = arrow_schema("records", with_partitions=False)
        self.file_index, self.file = -1, None
        self.group, self.group_start, self.group_rows, self.table = -1, 0, 0, None

    def take(self, rids: pa.Array) -> pa.Table:
        rid = _numpy(rids)
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
            self.file_index, self.file = index, pq.ParquetFile(self.files[index])
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
            yield self.table.take(_from_numpy(rows[done:end] - self.group_start))
            done = end

    def _read_group(self) -> pa.Table:
        present = set(self.file.schema_arrow.names)
        table = self.file.read_row_group(self.group, columns=[c for c in _WIDE_COLUMNS if c in present])
        return pa.table({name: (table.column(name).cast(self.wanted.field(name).type) if name in present
                                else pa.nulls(table.num_rows, self.wanted.field(name).type))
                         for name in _WIDE_COLUMNS})


def _with_provenance(works, holdings: pa.RecordBatchReader):
    """(works chunk with its provenance column, that chunk's holdings rows) pairs: each work's `n`
    holdings are the next n rows of the holdings stream, which become its provenance list."""
    taker = _Taker(holdings)
    try:
        for chunk in works:
            counts = _array(chunk.column("n"))
            held = taker.take(pc.sum(counts).as_py() or 0)
            offsets = pa.concat_arrays([_ZERO, pc.cumulative_sum(counts).cast(pa.int32())])
            parent = pc.list_parent_indices(pa.ListArray.from_arrays(offsets, pa.nulls(len(held), pa.null())))
            if not pc.all(pc.equal(_array(held.column("rep")), _array(chunk.column("rep")).take(parent))).as_py():
                raise IndexBuildError("consolidation failed: the works and holdings streams are out of step")
            held = held.append_column("work_id", _array(chunk.column("work_id")).take(parent))
            values = pa.StructArray.from_arrays([_array(held.column(name)) for name in _PROVENANCE_FIELDS],
                                                names=_PROVENANCE_FIELDS)
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
        except BaseException as exc:   # noqa: BLE001 - handed to the reading thread
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


# Parquet options: dictionaries only where values repeat (elsewhere the encoder tries one and falls
# back, which costs time and space), statistics on the top-level scalar columns readers filter on.
_WORKS_PARQUET = {
    "compression": "zstd",
    "use_dictionary": ["match", "subjects.list.element", "publisher", "resource_type", "language", "license",
                       "regions.list.element",
                       "provenance.list.element.source_id", "provenance.list.element.region"],
    "write_statistics": ["work_id", "match", "title", "publisher", "publication_year", "resource_type", "language",
                         "license", "region_count", "source_count"],
}
_HOLDINGS_PARQUET = {"compression": "zstd", "use_dictionary": ["source_id"],
                     "write_statistics": ["work_id", "source_id", "oai_identifier", "datestamp"]}


class _WorksFiles:
    """works/part-NNNNN.parquet, `rows_per_file` works each, in the declared index schema."""

    def __init__(self, out_dir: Path, rows_per_file: int):
        self.out_dir, self.rows_per_file = out_dir, rows_per_file
        self.schema = arrow_schema("index")
        self.files: list[str] = []
        self.writer, self.in_file = None, 0
        (out_dir / "works").mkdir(parents=True, exist_ok=True)

    def add(self, item: tuple[pa.Table, pa.Table]) -> None:
        chunk = item[0]
        if self.writer is None or self.in_file + chunk.num_rows > self.rows_per_file:
            self.close()
            self.files.append(f"works/part-{len(self.files):05d}.parquet")
            self.writer, self.in_file = pq.ParquetWriter(self.out_dir / self.files[-1], self.schema,
                                                         **_WORKS_PARQUET), 0
        self.writer.write_table(chunk.cast(self.schema))
        self.in_file += chunk.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class _HoldingsFiles:
    """holdings/region=…/part-0.parquet: every (work, holding record), straight from the holdings
    stream. It arrives in (work, source_id, oai_identifier) order, so splitting each chunk by region
    (keeping that order) gives every region's rows in that order: no sort."""

    def __init__(self, out_dir: Path):
        self.root = out_dir / "holdings"
        self.schema = arrow_schema("holdings", with_partitions=False)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pending: dict[str, list[pa.Table]] = {}

    def add(self, item: tuple[pa.Table, pa.Table]) -> None:
        held = item[1]
        regions = pc.dictionary_encode(_array(held.column("region")))
        codes = _numpy(regions.indices.cast(pa.int32()))
        rows = held.select(["work_id", "source_id", "oai_identifier", "datestamp", "landing_url"])
        for code, name in enumerate(regions.dictionary.to_pylist()):
            # a take per region, rows kept in stream order: fresh buffers of that region's rows only,
            # so what waits for a full row group does not hold on to the whole chunk
            self.pending.setdefault(name, []).append(rows.take(_from_numpy(np.flatnonzero(codes == code))))
            if sum(t.num_rows for t in self.pending[name]) >= _ROW_GROUP:
                self._flush(name)

    def _flush(self, region: str) -> None:
        table = pa.concat_tables(self.pending.pop(region)).cast(self.schema)
        if region not in self.writers:
            (self.root / f"region={region}").mkdir(parents=True, exist_ok=True)
            self.writers[region] = pq.ParquetWriter(self.root / f"region={region}" / "part-0.parquet", self.schema,
                                                    **_HOLDINGS_PARQUET)
        self.writers[region].write_table(table, row_group_size=table.num_rows)

    def close(self) -> None:
        for region in sorted(self.pending):
            self._flush(region)
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


class _Summary:
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
        self._count(self.regions, pc.list_flatten(_array(chunk.column("regions"))))
        self._count(self.sources, _array(held.column("source_id")))
        self._count(self.match, _array(chunk.column("match")))
        self._count(self.region_counts, _array(chunk.column("region_count")))
        self._count(self.source_counts, _array(chunk.column("source_count")))

    def close(self) -> None:
        pass

    def result(self) -> dict:
        return {"regions": dict(self.regions), "sources": dict(self.sources), "match": dict(self.match),
                "totals": {"works": self.works,
                           "cross_region_works": sum(n for k, n in self.region_counts.items() if k >= 2),
                           "multi_source_works": sum(n for k, n in self.source_counts.items() if k >= 2)}}


def _array(column: pa.ChunkedArray) -> pa.Array:
    """One array for a column, copied only if it is in several pieces (combine_chunks always copies)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


_NUMPY = {pa.int32(): np.int32, pa.int64(): np.int64}


def _numpy(values: pa.Array) -> np.ndarray:
    """A null-free int32/int64 array as a numpy view of its buffer. pyarrow's to_numpy imports
    pandas on first use: ~0.15 s and ~45 MB of a build that never needs it."""
    if values.null_count:
        raise IndexBuildError("consolidation failed: a null where the build's own columns have none")
    dtype = _NUMPY[values.type]
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype().itemsize)


def _from_numpy(values: np.ndarray, type_: pa.DataType = pa.int64()) -> pa.Array:
    """An int32/int64 Arrow array over a numpy array's memory (pa.array would load pandas)."""
    values = np.ascontiguousarray(values, dtype=_NUMPY[type_])
    return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)])


_ZERO = _from_numpy(np.zeros(1), pa.int32())


def _fan_out(chunks, sinks) -> None:
    """Every chunk to every sink, each sink in a thread of its own: Parquet encoding and compression
    (which release the GIL) overlap DuckDB producing the next chunk; short queues bound the chunks
    in flight. The first failure is raised here, after every thread has stopped."""
    failed: list[BaseException] = []
    queues = [queue.Queue(maxsize=2) for _ in sinks]

    def consume(sink, todo: queue.Queue) -> None:
        try:
            while (chunk := todo.get()) is not None:
                if not failed:
                    sink.add(chunk)
            sink.close()
        except BaseException as exc:   # noqa: BLE001 - handed to the caller's thread
            failed.append(exc)
            while todo.get() is not None:   # let the producer finish
                pass
            sink.close()

    threads = [threading.Thread(target=consume, args=(sink, todo), name="index-writer", daemon=True)
               for sink, todo in zip(sinks, queues)]
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


def _parquet_stream(path: Path) -> pa.RecordBatchReader:
    """A sorted stream written by DuckDB, read back in order, one row group at a time."""
    return pa.RecordBatchReader.from_batches(pq.read_schema(path), iter_batches(path, _ROW_GROUP))


def _work_chunks(reader: pa.RecordBatchReader, size: int, max_holdings: int):
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
            counts = np.cumsum(_numpy(_array(table.column("n"))))
            cut = min(size, max(1, int(np.searchsorted(counts, max_holdings, side="right"))))
            yield table.slice(0, cut)
            emitted = True
            rest = table.slice(cut)
            pending, rows, held = rest.to_batches(), rest.num_rows, int(counts[-1] - counts[cut - 1])
    if rows or not emitted:
        yield pa.Table.from_batches(pending, schema=reader.schema)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
