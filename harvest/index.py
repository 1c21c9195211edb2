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


@dataclass
class BuildStats:
    records_in: int
    tombstones: int
    live_records: int
    iterations: int


def _connect(memory_limit: str | None, temp_dir: Path | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir:
        con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    con.create_function("gosc_fallback_key", fallback_key, ["VARCHAR", "INTEGER", "VARCHAR"], "VARCHAR",
                        null_handling="special", side_effects=False)
    return con


def _stage(con, files: list[Path], priorities: dict[str, int]) -> BuildStats:
    con.execute("CREATE TEMP TABLE priority(source_id VARCHAR, priority INTEGER)")
    if priorities:
        con.executemany("INSERT INTO priority VALUES (?, ?)", sorted(priorities.items()))
    con.execute(f"""
        CREATE TEMP TABLE latest AS
        SELECT * FROM read_parquet({[str(f) for f in files]!r}, hive_partitioning = true, union_by_name = true)
        QUALIFY row_number() OVER (PARTITION BY source_id, oai_identifier
                                   ORDER BY datestamp DESC, harvested_at DESC, run_id DESC, deleted DESC) = 1""")
    con.execute("""
        CREATE TEMP TABLE live AS
        SELECT row_number() OVER (ORDER BY source_id, oai_identifier) AS rid, l.*,
               coalesce(p.priority, 50) AS priority
        FROM latest l LEFT JOIN priority p USING (source_id) WHERE NOT l.deleted""")
    con.execute(f"""
        CREATE TEMP TABLE rec_key AS
        SELECT DISTINCT rid, i.scheme || ':' || i.value AS k, true AS is_pid
        FROM (SELECT rid, unnest(identifiers) AS i FROM live)
        WHERE i.scheme IN ({_PID_LIST})""")
    con.execute("""
        INSERT INTO rec_key
        SELECT rid, 'fb:' || fk, false FROM (
            SELECT rid, gosc_fallback_key(title, publication_year, creators[1].family_name) AS fk
            FROM live WHERE rid NOT IN (SELECT rid FROM rec_key))
        WHERE fk IS NOT NULL""")
    iterations = _components(con)
    records_in = con.execute("SELECT count(*) FROM latest").fetchall()[0][0]
    live = con.execute("SELECT count(*) FROM live").fetchall()[0][0]
    return BuildStats(records_in, records_in - live, live, iterations)


def _components(con) -> int:
    """Label propagation to a fixed point: every record ends with the smallest rid of its component."""
    con.execute("CREATE TEMP TABLE label AS SELECT rid, rid AS lbl FROM live")
    for iteration in range(1, MAX_ITERATIONS + 1):
        con.execute("""
            CREATE OR REPLACE TEMP TABLE key_lbl AS
            SELECT k, min(lbl) AS lbl FROM rec_key JOIN label USING (rid) GROUP BY k""")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE next_label AS
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


_WORKS_SQL = f"""
WITH member AS (
    SELECT lv.*, lb.lbl,
           (title IS NOT NULL)::INT + (len(creators) > 0)::INT + (description IS NOT NULL)::INT
           + (publisher IS NOT NULL)::INT + (publication_year IS NOT NULL)::INT
           + (resource_type IS NOT NULL)::INT + (language IS NOT NULL)::INT
           + (license IS NOT NULL)::INT + (len(subjects) > 0)::INT AS completeness
    FROM live lv JOIN label lb USING (rid)
),
rep AS (
    SELECT * FROM member
    QUALIFY row_number() OVER (PARTITION BY lbl ORDER BY completeness DESC, priority DESC,
                                datestamp DESC, source_id, oai_identifier) = 1
),
keys AS (
    SELECT lb.lbl,
           list(DISTINCT rk.k ORDER BY rk.k) FILTER (WHERE rk.is_pid) AS pids,
           min(rk.k) FILTER (WHERE NOT rk.is_pid) AS fb,
           arg_min(rk.k, (CASE split_part(rk.k, ':', 1) {_PID_RANK} ELSE 99 END, rk.k))
               FILTER (WHERE rk.is_pid) AS best_pid
    FROM label lb JOIN rec_key rk USING (rid) GROUP BY lb.lbl
),
prov AS (
    SELECT lbl,
           list({{'source_id': source_id, 'region': region, 'oai_identifier': oai_identifier,
                  'datestamp': datestamp, 'landing_url': landing_url}}
                ORDER BY source_id, oai_identifier) AS provenance,
           list(DISTINCT region ORDER BY region) AS regions,
           count(DISTINCT source_id)::INTEGER AS source_count,
           count(*) AS holdings
    FROM member GROUP BY lbl
)
SELECT
    coalesce(k.best_pid, 'fb:' || substr(md5(k.fb), 1, 16),
             'rec:' || substr(md5(r.source_id || ' ' || r.oai_identifier), 1, 16)) AS work_id,
    CASE WHEN p.holdings = 1 THEN 'single' WHEN k.best_pid IS NULL THEN 'fallback' ELSE 'pid' END AS match,
    r.title, r.creators, r.subjects, r.description, r.publisher, r.publication_year, r.resource_type,
    r.language, r.license, coalesce(k.pids, []) AS pids, r.landing_url,
    p.regions, len(p.regions)::INTEGER AS region_count, p.source_count, p.provenance
FROM rep r JOIN prov p USING (lbl) LEFT JOIN keys k USING (lbl)
ORDER BY work_id
"""


def build_works(records_dir: Path, out_dir: Path, *, priorities: dict[str, int] | None = None,
                rows_per_file: int = 1_000_000, memory_limit: str | None = None) -> tuple[list[str], BuildStats]:
    """Consolidate every committed records file into out_dir/works/part-NNNNN.parquet files."""
    import pyarrow.parquet as pq

    files = committed_files(records_dir, "records")
    if not files:
        raise IndexBuildError(f"no harvested records under {Path(records_dir) / 'records'}: run a harvest first")
    schema = arrow_schema("index")
    con = _connect(memory_limit, out_dir / ".duckdb-tmp")
    try:
        stats = _stage(con, files, priorities or {})
        reader = con.sql(_WORKS_SQL).to_arrow_reader(50_000)
        written, writer, rows_in_file = [], None, 0
        (out_dir / "works").mkdir(parents=True, exist_ok=True)
        for batch in reader:
            if writer is None or rows_in_file >= rows_per_file:
                if writer:
                    writer.close()
                name = f"works/part-{len(written):05d}.parquet"
                writer, rows_in_file = pq.ParquetWriter(out_dir / name, schema, compression="zstd"), 0
                written.append(name)
            writer.write_table(pa.Table.from_batches([batch]).cast(schema))
            rows_in_file += batch.num_rows
        if writer is None:  # every record deleted: publish an empty, well-typed index
            written.append("works/part-00000.parquet")
            pq.write_table(schema.empty_table(), out_dir / written[0], compression="zstd")
        else:
            writer.close()
    except duckdb.Error as exc:
        raise IndexBuildError(f"consolidation failed: {exc}") from exc
    finally:
        con.close()
        shutil.rmtree(out_dir / ".duckdb-tmp", ignore_errors=True)
    return written, stats


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
