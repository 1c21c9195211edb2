"""`make bench`: every benchmark, ratios measured side by side in one run; JSON in bench/results/.

python -m bench            # full sizes (100 k and 1 M records; 3 M for the consolidation), medians of
                           # three interleaved runs: ~13 min
python -m bench --quick    # small sizes, one run each, for a first look
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import consolidate, dagparse, harvest, transform


def _row(name, r):
    rss = f"{r['rss_mb']:>6,.0f} MB" if "rss_mb" in r else ""
    mbs = f"{r['mb_per_s']:>6.1f} MB/s" if "mb_per_s" in r else ""
    line = f"    {name:24} {r['rec_per_s']:>9,} rec/s  {mbs:>12}  {rss:>10}"
    if "pss_mb" in r:  # ours: harvester + parse workers, shared pages counted once
        line += (
            f"  (RSS summed)  PSS {r['pss_mb']:,.0f} MB peak: harvester {r.get('harvester_pss_mb', 0):,.0f}"
            f" + {r.get('parse_workers', 0)} workers ≤ {r.get('worker_pss_mb', 0):,.0f} MB each"
            f" (an untimed run of its own)"
        )
    return line


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true")
    quick = ap.parse_args().quick
    n, big, repeats = (20_000, None, 1) if quick else (100_000, 1_000_000, 3)
    from harvest.runs.pool import default_parse_workers

    setup = {"parse_workers": default_parse_workers()}
    results = {
        "when": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": quick,
        "repeats": repeats,
        "setup": setup,
    }
    print(f"setup: {setup['parse_workers']} parse workers")

    results["transform_per_core"] = transform.run()
    print("transform, one core: parse + crosswalk vs bare lxml parse and lean generic extraction of the same pages")
    for r in results["transform_per_core"]:
        print(
            f"    {r['format']:13} {r['parse_and_crosswalk_rec_per_s']:>9,} rec/s   "
            f"(bare parse {r['lxml_parse_rec_per_s']:>9,} rec/s, "
            f"parse + generic fields {r['parse_and_generic_fields_rec_per_s']:>9,} rec/s)"
        )

    results["harvest"] = harvest.run(n=n, big=big, repeats=repeats)
    if repeats > 1:
        print(f"(each figure below: the median of {repeats} runs, the methods' runs interleaved)")
    for key in ("oai_dc", "oai_datacite", "oai_dc_long_abstracts"):
        what = "oai_dc, records with abstracts as long as Zenodo's" if key.endswith("_long_abstracts") else key
        print(f"harvest {what}, {n:,} records (same server process, same pages)")
        for name, r in results["harvest"][key].items():
            if name != "ratios":
                print(_row(name, r))
        print(f"    ratios: {results['harvest'][key]['ratios']}")
    for key in ("e_four_partners_50ms", "e_four_partners_50ms_100_per_page"):
        e = results["harvest"][key]
        print(
            f"four partners, 50 ms per page, {e['records_per_page']} records a page: one after another "
            f"{e['one_after_another_s']} s, concurrent {e['concurrent_s']} s, speed-up {e['speedup']}x"
        )

    results["consolidate"] = consolidate.run(
        sizes=(100_000,) if quick else (100_000, 1_000_000, 3_000_000), repeats=repeats
    )
    for r in results["consolidate"]:
        print(
            f"consolidate {r['records']:,} records: ours {r['ours_seconds']} s / {r['ours_peak_rss_mb']} MB, "
            f"plain DuckDB read+write {r['plain_duckdb_seconds']} s / {r['plain_peak_rss_mb']} MB "
            f"(time {r['time_ratio']}x, CPU {r['cpu_ratio']}x; "
            f"peak RSS {r['ours_rss_vs_smallest']}x the smallest size's)"
        )

    results["dag_parse"] = dagparse.run(200)
    print(
        f"DAG parse, 200 sources: {results['dag_parse']['seconds']:.2f} s, "
        f"{results['dag_parse']['dags']} DAGs, {results['dag_parse']['errors']} errors"
    )

    out = Path(__file__).parent / "results" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    (out.parent / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
