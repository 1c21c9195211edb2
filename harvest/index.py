"""Consolidation: every source's records → one row per work across regions, as SQL in DuckDB.

DuckDB reads the records Parquet out of core (it spills to disk past its memory limit). Steps:
latest version per (source, OAI identifier) → drop tombstones → link records that share a
normalised PID (or, for PID-less records, a Unicode-aware fallback key) → connected components by
label propagation, so A–B by DOI and B–C by Handle make one work → merge fields from the most
complete record (ties: source priority) → provenance of every holding.
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from harvest.crosswalk.normalize import PID_SCHEMES
from harvest.errors import IndexBuildError
from harvest.matchkeys import fallback_key
from harvest.schema import arrow_schema
from harvest.store import committed_files

_PID_LIST = ", ".join(f"'{s}'" for s in PID_SCHEMES)
_PID_RANK = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(PID_SCHEMES))
MAX_ITERATIONS = 100
_KEY_SCHEMA = pa.schema([("rid", pa.int64()), ("k", pa.string()), ("is_pid", pa.bool_())])


@dataclass
class BuildStats:
    records_in: int
    tombstones: int
    live_records: int
    iterations: int


def _connect(work_dir: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """A scratch database on disk (not in memory): staged tables live in DuckDB's buffer manager and
    spill, so the build runs out of core within `memory_limit`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(work_dir / "build.duckdb"))
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{work_dir / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def _stage(con, files: list[Path], priorities: dict[str, int]) -> BuildStats:
    con.execute("CREATE TABLE priority(source_id VARCHAR, priority INTEGER)")
    if priorities:
        con.executemany("INSERT INTO priority VALUES (?, ?)", sorted(priorities.items()))
    scan = (f"read_parquet({[str(f) for f in files]!r}, hive_partitioning = true, union_by_name = true, "
            "filename = true, file_row_number = true)")
    # the latest version of every (source, identifier), decided on a narrow projection...
    con.execute(f"""
        CREATE TABLE latest AS
        SELECT filename, file_row_number, deleted FROM {scan}
        QUALIFY row_number() OVER (PARTITION BY source_id, oai_identifier
                                   ORDER BY datestamp DESC, harvested_at DESC, run_id DESC, deleted DESC) = 1""")
    # ...then only the live winners' full rows are read
    con.execute(f"""
        CREATE TABLE live AS
        SELECT row_number() OVER () AS rid, r.* EXCLUDE (filename, file_row_number),
               coalesce(p.priority, 50) AS priority
        FROM {scan} r
        SEMI JOIN (SELECT filename, file_row_number FROM latest WHERE NOT deleted) w
             USING (filename, file_row_number)
        LEFT JOIN priority p USING (source_id)""")
    con.execute(f"""
        CREATE TABLE rec_key AS
        SELECT DISTINCT rid, i.scheme || ':' || i.value AS k, true AS is_pid
        FROM (SELECT rid, unnest(identifiers) AS i FROM live)
        WHERE i.scheme IN ({_PID_LIST})""")
    _add_fallback_keys(con)
    iterations = _components(con)
    records_in, tombstones = con.execute("SELECT count(*), count(*) FILTER (WHERE deleted) FROM latest").fetchall()[0]
    live = con.execute("SELECT count(*) FROM live").fetchall()[0][0]
    return BuildStats(records_in, tombstones, live, iterations)


def _add_fallback_keys(con, batch_rows: int = 100_000) -> None:
    """Fallback keys for records without any PID, computed in Python batch by batch (a DuckDB
    scalar UDF pays for the GIL on every row and every thread) and streamed back: memory stays flat."""
    reader = con.sql("""SELECT rid, title, publication_year, creators[1].family_name AS family
                        FROM live ANTI JOIN rec_key USING (rid)""").to_arrow_reader(batch_rows)
    batches = []
    for batch in reader:
        cols = batch.to_pydict()
        keys = [fallback_key(t, y, f) for t, y, f in zip(cols["title"], cols["publication_year"], cols["family"])]
        rows = [(r, f"fb:{k}", False) for r, k in zip(cols["rid"], keys) if k is not None]
        batches.append(pa.table(list(map(list, zip(*rows))) if rows else [[], [], []], schema=_KEY_SCHEMA))
    for table in batches:   # the reader must be exhausted before the connection takes new statements
        con.from_arrow(table).insert_into("rec_key")


def _components(con) -> int:
    """Label propagation to a fixed point: every record ends with the smallest rid of its component."""
    con.execute("CREATE TABLE label AS SELECT rid, rid AS lbl FROM live")
    for iteration in range(1, MAX_ITERATIONS + 1):
        con.execute("""
            CREATE OR REPLACE TABLE key_lbl AS
            SELECT k, min(lbl) AS lbl FROM rec_key JOIN label USING (rid) GROUP BY k""")
        con.execute("""
            CREATE OR REPLACE TABLE next_label AS
            SELECT l.rid, least(l.lbl, coalesce(min(kl.lbl), l.lbl)) AS lbl
            FROM label l LEFT JOIN rec_key rk USING (rid) LEFT JOIN key_lbl kl USING (k)
            GROUP BY l.rid, l.lbl""")
        changed = con.execute("""SELECT count(*) FROM next_label n JOIN label l USING (rid)
                                 WHERE n.lbl <> l.lbl""").fetchall()[0][0]
        con.execute("DROP TABLE label")
        con.execute("ALTER TABLE next_label RENAME TO label")
        if changed == 0:
            return iteration
    raise IndexBuildError(f"PID clustering did not converge in {MAX_ITERATIONS} iterations")


_COMPLETENESS = """(title IS NOT NULL)::INT + (len(creators) > 0)::INT + (description IS NOT NULL)::INT
    + (publisher IS NOT NULL)::INT + (publication_year IS NOT NULL)::INT + (resource_type IS NOT NULL)::INT
    + (language IS NOT NULL)::INT + (license IS NOT NULL)::INT + (len(subjects) > 0)::INT"""

# One narrow row per work: its stable id, how it was matched, and the output file (bucket) it goes to.
_WORK_SQL = f"""
CREATE TABLE work AS
WITH keys AS (
    SELECT lb.lbl, min(rk.k) FILTER (WHERE NOT rk.is_pid) AS fb,
           arg_min(rk.k, (CASE split_part(rk.k, ':', 1) {_PID_RANK} ELSE 99 END, rk.k))
               FILTER (WHERE rk.is_pid) AS best_pid
    FROM label lb JOIN rec_key rk USING (rid) GROUP BY lb.lbl
),
sizes AS (SELECT lbl, count(*) AS holdings, min(rid) AS some_rid FROM label GROUP BY lbl)
SELECT s.lbl,
       coalesce(k.best_pid, 'fb:' || substr(md5(k.fb), 1, 16),
                'rec:' || substr(md5(lv.source_id || ' ' || lv.oai_identifier), 1, 16)) AS work_id,
       CASE WHEN s.holdings = 1 THEN 'single' WHEN k.best_pid IS NULL THEN 'fallback' ELSE 'pid' END AS match
FROM sizes s LEFT JOIN keys k USING (lbl) JOIN live lv ON lv.rid = s.some_rid
"""

# The wide rows of one bucket of works: narrow aggregation first, full columns for one record per work.
_WORKS_SQL = f"""
WITH chosen AS (SELECT lbl, work_id, match FROM work WHERE hash(work_id) % $buckets = $bucket),
member AS (
    SELECT lv.rid, lb.lbl, {_COMPLETENESS} AS completeness, lv.priority, lv.datestamp,
           lv.source_id, lv.region, lv.oai_identifier, lv.landing_url
    FROM live lv JOIN label lb USING (rid) SEMI JOIN chosen USING (lbl)
),
rep AS (
    SELECT lbl, rid FROM member
    QUALIFY row_number() OVER (PARTITION BY lbl ORDER BY completeness DESC, priority DESC,
                                datestamp DESC, source_id, oai_identifier) = 1
),
pids AS (
    SELECT lb.lbl, list(DISTINCT rk.k ORDER BY rk.k) AS pids
    FROM label lb JOIN rec_key rk USING (rid) SEMI JOIN chosen USING (lbl)
    WHERE rk.is_pid GROUP BY lb.lbl
),
prov AS (
    SELECT lbl,
           list({{'source_id': source_id, 'region': region, 'oai_identifier': oai_identifier,
                  'datestamp': datestamp, 'landing_url': landing_url}}
                ORDER BY source_id, oai_identifier) AS provenance,
           list(DISTINCT region ORDER BY region) AS regions,
           count(DISTINCT source_id)::INTEGER AS source_count
    FROM member GROUP BY lbl
)
SELECT c.work_id, c.match,
    r.title, r.creators, r.subjects, r.description, r.publisher, r.publication_year, r.resource_type,
    r.language, r.license, coalesce(k.pids, []) AS pids, r.landing_url,
    p.regions, len(p.regions)::INTEGER AS region_count, p.source_count, p.provenance
FROM chosen c JOIN rep USING (lbl) JOIN live r USING (rid) JOIN prov p USING (lbl) LEFT JOIN pids k USING (lbl)
ORDER BY c.work_id
"""


def build_works(records_dir: Path, out_dir: Path, *, priorities: dict[str, int] | None = None,
                rows_per_file: int = 250_000, memory_limit: str | None = None) -> tuple[list[str], BuildStats]:
    """Consolidate every committed records file into out_dir/works/part-NNNNN.parquet files.

    Works are spread over files by a hash of their id (so each file is built with a bounded amount
    of memory) and sorted by id within a file: the same inputs give byte-identical files.
    """
    import pyarrow.parquet as pq

    files = committed_files(records_dir, "records")
    if not files:
        raise IndexBuildError(f"no harvested records under {Path(records_dir) / 'records'}: run a harvest first")
    schema = arrow_schema("index")
    work_dir = out_dir.parent / f".work-{out_dir.name}"
    con = _connect(work_dir, memory_limit)
    try:
        stats = _stage(con, files, priorities or {})
        con.execute(_WORK_SQL)
        works = con.execute("SELECT count(*) FROM work").fetchall()[0][0]
        buckets = max(1, -(-works // rows_per_file))
        (out_dir / "works").mkdir(parents=True, exist_ok=True)
        written = []
        for bucket in range(buckets):
            name = f"works/part-{bucket:05d}.parquet"
            with pq.ParquetWriter(out_dir / name, schema, compression="zstd") as writer:
                reader = con.execute(_WORKS_SQL, {"buckets": buckets, "bucket": bucket}).to_arrow_reader(50_000)
                for batch in reader:
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema))
            written.append(name)
    except duckdb.Error as exc:
        raise IndexBuildError(f"consolidation failed: {exc}") from exc
    finally:
        con.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    return written, stats


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
