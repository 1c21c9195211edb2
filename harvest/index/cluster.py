"""The SQL side of the index build: the records staged, clustered into works and sorted, in DuckDB.

In SQL because DuckDB reads the records Parquet out of core (its buffer manager spills to disk past
the memory limit), so the steps that see every record do not grow with the input. Records that share
a normalised PID (or, without one, a Unicode-aware fallback key) are linked, and connected components
make the works, so A–B by DOI and B–C by Handle make one work; each work keeps its most complete
record (ties: source priority).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from harvest.crosswalk.normalize import PID_SCHEMES
from harvest.errors import IndexBuildError
from harvest.index.matchkeys import fallback_key

_PID_LIST = ", ".join(f"'{s}'" for s in PID_SCHEMES)
assert len(PID_SCHEMES) <= 10, "the PID rank is one digit"
MAX_ITERATIONS = 100
_KEY_SCHEMA = pa.schema([("rid", pa.int64()), ("k", pa.string())])


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


def connect(work_dir: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """A scratch database whose tables live in DuckDB's buffer manager and spill to work_dir past
    `memory_limit` (an in-memory catalog: no database file to compress and checkpoint), so the
    build runs out of core."""
    work_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit or DEFAULT_MEMORY_LIMIT}'")
    con.execute(f"SET threads = {max(1, min(os.cpu_count() or 1, MAX_THREADS))}")
    con.execute(f"SET temp_directory = '{work_dir / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # a library: nothing on stdout
    return con


_COMPLETENESS = """(title IS NOT NULL)::INT + (len(creators) > 0)::INT + (description IS NOT NULL)::INT
    + (publisher IS NOT NULL)::INT + (publication_year IS NOT NULL)::INT + (resource_type IS NOT NULL)::INT
    + (language IS NOT NULL)::INT + (license IS NOT NULL)::INT + (len(subjects) > 0)::INT"""

_FAMILY = "creators[1].family_name"
# a version's id: the file's place in the (sorted) list of files and the row's place in the file
_RID = "((file_index::BIGINT << 32) | file_row_number)"


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


def stage(con, files: list[Path], priorities: dict[str, int]) -> BuildStats:
    """The latest live version of every record in `live`, and its component in `label` (see _components)."""
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
        SELECT h FROM (SELECT hash(source_id, oai_identifier) AS h FROM {_scan(files)})
        GROUP BY h HAVING count(*) > 1""")
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
               CASE WHEN {no_pid} THEN 'fb:' || {fallback_key_sql("title", "publication_year", "family")} END AS fb,
               CASE WHEN {no_pid} AND {fallback_key_in_python("title", "publication_year", "family")}
                    THEN {{'title': title, 'year': publication_year, 'family': family}} END AS py_fb_input,
               coalesce(p.priority, 50) AS priority
        FROM (
            SELECT {_RID} AS rid, source_id, region, oai_identifier, datestamp, deleted, landing_url,
                   {_COMPLETENESS} AS completeness, {_PID_KEYS} AS pid_keys, title, publication_year,
                   {_FAMILY} AS family
            FROM {_scan(files)} {superseded}
        ) v LEFT JOIN priority p ON p.source_id = v.source_id""")
    drop(con, "shared", "superseded")
    records_in, tombstones = con.execute("SELECT count(*), count(*) FILTER (WHERE deleted) FROM live").fetchall()[0]
    con.execute("DELETE FROM live WHERE deleted")  # tombstones remove the record from every work
    _python_fallback_keys(con)
    con.execute("""
        CREATE TABLE rec_key AS
        SELECT rid, unnest(pid_keys) AS k FROM live WHERE len(pid_keys) > 0
        UNION ALL
        SELECT rid, fb FROM live WHERE fb IS NOT NULL""")
    iterations = _components(con)
    drop(con, "rec_key", "edge")
    return BuildStats(records_in, tombstones, records_in - tombstones, iterations)


def drop(con, *tables: str) -> None:
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
        rows = [
            (r, "fb:" + k)
            for r, t, y, f in zip(cols["rid"], cols["title"], cols["publication_year"], cols["family"])
            if (k := fallback_key(t, y, f)) is not None
        ]
        if rows:
            batches.append(pa.table(list(map(list, zip(*rows))), schema=_KEY_SCHEMA))
    if batches:  # the reader must be exhausted before the connection takes new statements
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
            SELECT r.rid, least(r.lbl, coalesce(j.lbl, r.lbl)) AS lbl,
                   least(r.lbl, coalesce(j.lbl, r.lbl)) < l.lbl AS changed
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
SELECT lbl AS wkey, coalesce({_best_pid("pids")}, 'fb:' || substr(md5(fb), 1, 16)) AS work_id,
       CASE WHEN len(pids) = 0 THEN 'fallback' ELSE 'pid' END AS match,
       rep, pids, regions, source_count, n
FROM multi
"""

_SINGLE_SQL = f"""
SELECT rid, CASE WHEN len(pid_keys) = 1 THEN pid_keys[1]
            ELSE coalesce({_best_pid("pid_keys")}, 'fb:' || substr(md5(fb), 1, 16),
                          'rec:' || substr(md5(source_id || ' ' || oai_identifier), 1, 16)) END,
       'single', rid, CASE WHEN len(pid_keys) < 2 THEN pid_keys ELSE list_sort(pid_keys) END,
       [region], 1, 1
FROM live ANTI JOIN label USING (rid)
"""


def works(con) -> int:
    """The `work` table; returns the number of passes over the works of several records."""
    members = con.execute("SELECT count(*) FROM label").fetchall()[0][0]
    parts = max(1, -(-members // _MEMBERS_PER_PASS))
    if parts == 1:  # one statement over the whole label table: the planner likes it best
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
# wide fields in file order (assemble's `_ChosenRows`), no wide row is ever joined or sorted.
_HOLDINGS_SQL = """
SELECT w.rep, lv.source_id, lv.region, lv.oai_identifier, lv.datestamp, lv.landing_url
FROM live lv LEFT JOIN label lb USING (rid) JOIN work w ON w.wkey = coalesce(lb.lbl, lv.rid)
ORDER BY w.rep, lv.source_id, lv.oai_identifier
"""
_WORKS_SQL = """
SELECT work_id, match, rep, pids, regions, len(regions)::INTEGER AS region_count, source_count, n
FROM work ORDER BY rep
"""


def write_sorted_streams(con, work_dir: Path, row_group: int) -> dict[str, Path]:
    """The holdings and works streams, each sorted into a narrow Parquet file in work_dir (row groups
    of `row_group` rows); returns their paths by name."""
    # one sort after the other, so each gets the whole memory budget
    con.execute("SET preserve_insertion_order = true")
    sorted_files = {name: work_dir / f"{name}-sorted.parquet" for name in ("holdings", "works")}
    for name, sql in (("holdings", _HOLDINGS_SQL), ("works", _WORKS_SQL)):
        con.execute(
            f"COPY ({sql}) TO '{sorted_files[name]}' (FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE {row_group})"
        )
    return sorted_files
