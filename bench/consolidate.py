"""Consolidation of N synthetic records against a plain DuckDB Parquet read + write of the same
files, each in its own process so peak memory (RSS) is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

REGIONS = ["europe", "australia", "china", "africa", "latin-america", "malaysia"]

# Per source: 60 % own DOIs, 15 % a DOI shared with the next source (written in upper case: already
# normalised by crosswalks, so lower here), 10 % DOI + Handle (chains across sources), 15 % no PID.
GENERATE = """
COPY (
  SELECT 'oai:{src}:' || i AS oai_identifier,
         TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i % 100000000) AS datestamp,
         (i % 97 = 0) AS deleted, ['set' || (i % 5)] AS set_specs, 'oai_dc' AS metadata_prefix,
         'Title ' || (CASE WHEN k < 85 THEN i ELSE i % 50000 END) AS title,
         [{{'name': 'Family' || (i % 1000) || ', Given', 'family_name': 'Family' || (i % 1000),
            'orcid': NULL, 'affiliation': NULL}}] AS creators,
         ['subject' || (i % 20)] AS subjects, 'Description ' || i AS description, 'Publisher' AS publisher,
         (2000 + i % 25)::INTEGER AS publication_year, 'Dataset' AS resource_type, 'en' AS language,
         'CC-BY-4.0' AS license,
         CASE WHEN k < 60 THEN [{{'scheme': 'doi', 'value': '10.{s}/' || i}}]
              WHEN k < 75 THEN [{{'scheme': 'doi', 'value': '10.shared/' || (i % {shared})}}]
              WHEN k < 85 THEN [{{'scheme': 'doi', 'value': '10.chain/' || i}},
                                {{'scheme': 'handle', 'value': '20.500/' || (i + 1)}}]
              ELSE [] END AS identifiers,
         NULL::VARCHAR AS primary_pid, 'https://{src}.example/' || i AS landing_url,
         []::STRUCT(relation VARCHAR, scheme VARCHAR, value VARCHAR)[] AS related_identifiers,
         'bench' AS run_id, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS harvested_at, 'bench/1' AS crosswalk_version
  FROM (SELECT range AS i, (range * 7919) % 100 AS k FROM range({n}))
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

PLAIN = """
import duckdb, resource, sys, time
cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0 = time.perf_counter()
duckdb.sql(f"COPY (SELECT * FROM read_parquet('{sys.argv[1]}/records/*/*/*.parquet', hive_partitioning = true)) "
           f"TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
r = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t0, r.ru_maxrss, r.ru_utime + r.ru_stime - cpu0)
"""

OURS = """
import resource, sys, time
from harvest.publish.snapshots import build_and_publish
cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0 = time.perf_counter()
m = build_and_publish(sys.argv[1], memory_limit=sys.argv[2] or None)
r = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t0, r.ru_maxrss, m["works"], r.ru_utime + r.ru_stime - cpu0)
"""


def generate(data: Path, n: int) -> None:
    per = n // len(REGIONS)
    for s, region in enumerate(REGIONS):
        src = f"bench-{region}"
        out = data / "records" / f"region={region}" / f"source_id={src}"
        out.mkdir(parents=True, exist_ok=True)
        duckdb.sql(
            GENERATE.format(src=src, s=s, n=per, shared=max(per // 10, 1), path=out / "part-bench-00000.parquet")
        )


def _run(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1].split()


def _median(rounds: list[list[str]]) -> list[str]:
    return sorted(rounds, key=lambda r: float(r[0]))[len(rounds) // 2]


def run(sizes=(100_000, 1_000_000), memory_limit: str | None = None, repeats: int = 1) -> list[dict]:
    """memory_limit None: the build's own fixed default (harvest.index.cluster.DEFAULT_MEMORY_LIMIT).
    `repeats` rounds of (plain, ours) per size, each reported by its median run."""
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            generate(data, n)
            plains, ourss = [], []
            for _ in range(repeats):
                plains.append(_run(PLAIN, str(data), str(data / "plain.parquet")))
                ourss.append(_run(OURS, str(data), memory_limit or ""))
            plain_s, plain_kb, plain_cpu = map(float, _median(plains))
            ours_s, ours_kb, works, ours_cpu = _median(ourss)
            # CPU seconds (user + system, every thread) besides wall time: on a shared machine the
            # wall-time ratio moves with other people's load, the CPU ratio much less
            results.append(
                {
                    "records": n,
                    "works": int(works),
                    "plain_duckdb_seconds": round(plain_s, 2),
                    "plain_peak_rss_mb": round(plain_kb / 1024),
                    "ours_seconds": round(float(ours_s), 2),
                    "ours_peak_rss_mb": round(float(ours_kb) / 1024),
                    "time_ratio": round(float(ours_s) / plain_s, 2),
                    "plain_cpu_seconds": round(plain_cpu, 2),
                    "ours_cpu_seconds": round(float(ours_cpu), 2),
                    "cpu_ratio": round(float(ours_cpu) / plain_cpu, 2),
                    "runs_time_ratio": [round(float(o[0]) / float(p[0]), 2) for p, o in zip(plains, ourss)],
                }
            )
    # memory flat: the build's peak RSS at each size against the smallest size's (same run)
    for r in results:
        r["ours_rss_vs_smallest"] = round(r["ours_peak_rss_mb"] / results[0]["ours_peak_rss_mb"], 2)
    sized = {r["records"]: r for r in results}
    if 100_000 in sized and 1_000_000 in sized:
        sized[1_000_000]["rss_1m_vs_100k"] = round(
            sized[1_000_000]["ours_peak_rss_mb"] / sized[100_000]["ours_peak_rss_mb"], 2
        )
    if 1_000_000 in sized and 3_000_000 in sized:  # past DuckDB's fixed budget: what still grows
        sized[3_000_000]["rss_3m_vs_1m"] = round(
            sized[3_000_000]["ours_peak_rss_mb"] / sized[1_000_000]["ours_peak_rss_mb"], 2
        )
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
