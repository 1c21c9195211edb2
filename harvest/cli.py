"""The `harvest` command: sources check, run, index build/info/query/rollback, demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harvest.config.settings import PROJECT_DIR, data_dir, sources_dir
from harvest.config.sources import Source, check_sources, load_sources
from harvest.errors import HarvestError


class ProgressPrinter:
    """Progress lines on stderr (records, pages, rate), at most one per source every `every` seconds."""

    def __init__(self, stream=sys.stderr, every: float = 1.0):
        self.stream, self.every = stream, every
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, report, elapsed: float) -> None:
        now = time.monotonic()
        if now - self._last.get(report.source_id, -1e9) < self.every:
            return
        self._last[report.source_id] = now
        rate = report.records / max(elapsed, 1e-3)
        with self._lock:
            print(
                f"  [{report.source_id}] page {report.pages:,} · {report.records:,} records · "
                f"{report.quarantined:,} quarantined · {rate:,.0f} rec/s",
                file=self.stream,
                flush=True,
            )


def _table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[f"{c:,}" if isinstance(c, int) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


# ---- sources ---------------------------------------------------------------------------------
def cmd_sources_check(args) -> int:
    folder = Path(args.sources or sources_dir())
    sources, problems = check_sources(folder)
    if sources:
        print(
            _table(
                [[s.id, s.region, s.metadata_prefix, s.schedule or "-", s.endpoint] for s in sources],
                ["source", "region", "format", "schedule", "endpoint"],
            )
        )
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    print(f"\n{len(sources)} valid source(s), {len(problems)} invalid, in {folder}")
    return 1 if problems else 0


# ---- run -------------------------------------------------------------------------------------
def run_sources(
    sources: list[Source],
    data: Path,
    *,
    full=False,
    from_=None,
    until=None,
    restart=False,
    chunk_rows: int = 10_000,
    workers: int = 4,
    progress=None,
) -> list:
    """Harvest several sources concurrently (one thread each, up to `workers`). The threads fetch;
    parsing and crosswalks run in the process's shared parse workers (harvest.runs.pool),
    so the CPU-bound part spreads over the cores instead of sharing one."""
    from harvest.runs.run import run_source

    def one(src):
        return run_source(
            src, data, full=full, from_=from_, until=until, restart=restart, chunk_rows=chunk_rows, progress=progress
        )

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sources)))) as pool:
        return list(pool.map(one, sources))


def _print_reports(reports) -> None:
    rows = [
        [
            r.source_id,
            r.region,
            r.status + (" (resumed)" if r.resumed else ""),
            len(r.windows),
            r.pages,
            r.records,
            r.deleted,
            r.quarantined,
            r.retries,
            f"{r.seconds:.1f}s",
        ]
        for r in reports
    ]
    print(
        _table(
            rows,
            ["source", "region", "status", "windows", "pages", "records", "deleted", "quarantined", "retries", "time"],
        )
    )
    for r in reports:
        print(
            f"  {r.source_id}: watermark {r.watermark_before or '(none)'} -> "
            f"{r.watermark_after if r.status == 'complete' else (r.watermark_before or '(none)') + ' (kept)'}"
            f"; {r.requests} requests, {r.bytes / 1e6:.1f} MB, waited {r.wait_seconds:.1f}s"
            + (f", {r.illegal_chars_removed} illegal characters removed" if r.illegal_chars_removed else "")
            + (f", {r.census_tombstones} vanished records tombstoned" if r.census_tombstones else "")
        )
    for r in reports:
        for e in r.errors:
            print(f"error: {e}", file=sys.stderr)
        for w in r.warnings:
            print(f"warning: [{r.source_id}] {w}", file=sys.stderr)


def _select(all_sources: list[Source], ids: list[str], use_all: bool) -> list[Source]:
    if use_all:
        return all_sources
    by_id = {s.id: s for s in all_sources}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise HarvestError(f"unknown source id(s): {', '.join(unknown)} (known: {', '.join(sorted(by_id))})")
    return [by_id[i] for i in ids]


def cmd_run(args) -> int:
    if not args.all and not args.source_ids:
        print("error: name source ids or use --all", file=sys.stderr)
        return 2
    sources = _select(load_sources(args.sources or sources_dir()), args.source_ids, args.all)
    data = Path(args.data or data_dir())
    print(f"harvesting {len(sources)} source(s) into {data}", file=sys.stderr)
    reports = run_sources(
        sources,
        data,
        full=args.full,
        from_=args.from_,
        until=args.until,
        restart=args.restart,
        chunk_rows=args.checkpoint_rows,
        workers=args.workers,
        progress=ProgressPrinter(),
    )
    _print_reports(reports)
    print(f"run reports: {data / 'runs'}/<source>/<run_id>.json", file=sys.stderr)
    return 0 if all(r.status == "complete" for r in reports) else 1


def cmd_retransform(args) -> int:
    from harvest.runs.retransform import retransform

    sources = _select(load_sources(args.sources or sources_dir()), args.source_ids, args.all)
    data = Path(args.data or data_dir())
    rows = []
    for src in sources:
        r = retransform(src, data, args.crosswalk)
        rows.append([r.source_id, r.crosswalk_version, r.records, r.deleted, r.quarantined, r.carried_over])
    print(_table(rows, ["source", "crosswalk", "records", "deleted", "quarantined", "carried over"]))
    return 0


def cmd_airflow_pools(args) -> int:
    from harvest.config.pools import pools

    print(json.dumps(pools(load_sources(args.sources or sources_dir())), indent=2))
    return 0


# ---- index -----------------------------------------------------------------------------------
def _priorities(folder) -> dict[str, int]:
    try:
        return {s.id: s.priority for s in load_sources(folder)}
    except HarvestError:
        return {}


def cmd_index_build(args) -> int:
    from harvest.publish.snapshots import build_and_publish

    data = Path(args.data or data_dir())
    manifest = build_and_publish(
        data, priorities=_priorities(args.sources or sources_dir()), memory_limit=args.memory_limit
    )
    print(
        f"published index snapshot {manifest['snapshot_id']}: {manifest['works']:,} works, "
        f"{manifest['cross_region_works']:,} held in two or more regions"
    )
    return 0


def cmd_index_info(args) -> int:
    from harvest.publish.snapshots import read_manifest

    print(json.dumps(read_manifest(Path(args.data or data_dir())), indent=2, ensure_ascii=False))
    return 0


def cmd_index_rollback(args) -> int:
    from harvest.publish.snapshots import rollback

    print(f"current index snapshot is now {rollback(Path(args.data or data_dir()))}")
    return 0


def cmd_index_query(args) -> int:
    import pandas as pd

    from harvest.publish.access import query

    df = query(args.sql, Path(args.data or data_dir()))
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(df.head(args.limit).to_string(index=False))
    if len(df) > args.limit:
        print(f"... {len(df) - args.limit:,} more row(s); use --limit or LIMIT", file=sys.stderr)
    return 0


# ---- demo ------------------------------------------------------------------------------------
def demo_sources_dir() -> Path:
    here = Path("sources/demo")
    return here if here.is_dir() else PROJECT_DIR / "sources" / "demo"


def cmd_demo(args) -> int:
    from harvest.demo import DemoNetwork
    from harvest.demo.faults import parse_fault

    faults = [parse_fault(spec) for spec in args.fault or []]
    if args.action == "serve":
        net = DemoNetwork(port=args.port or 8765)
        for pid, fault in faults:
            net.inject(pid, fault)
        print(f"demo partner network on {net.base_url} (Ctrl-C stops it)")
        for s in load_sources(demo_sources_dir()):
            print(f"  {s.id:22} {net.url_for(s.id)}")
        try:
            net.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            net.stop()
        return 0
    from harvest.publish.snapshots import build_and_publish

    folder = Path(args.sources or demo_sources_dir())  # the demo always uses the demo partners
    data = Path(args.data or data_dir())
    with DemoNetwork(port=args.port) as net:
        for pid, fault in faults:
            net.inject(pid, fault)
        os.environ["GOSC_DEMO_URL"] = net.base_url
        sources = load_sources(folder)
        print(f"demo partner network up on {net.base_url}: {len(sources)} partners", file=sys.stderr)
        reports = run_sources(sources, data, full=True, workers=args.workers, progress=ProgressPrinter())
    print("demo partner network stopped", file=sys.stderr)
    manifest = build_and_publish(data, priorities={s.id: s.priority for s in sources})
    _print_demo_summary(reports, manifest, data)
    return 0 if all(r.status == "complete" for r in reports) else 1


def _print_demo_summary(reports, manifest: dict, data: Path) -> None:
    by_region: dict[str, list] = {}
    for r in reports:
        row = by_region.setdefault(r.region, [r.region, 0, 0, 0, 0, 0])
        row[1] += 1
        row[2] += r.records
        row[3] += r.deleted
        row[4] += r.quarantined
        row[5] = manifest["regions"].get(r.region, 0)
    print("\nHarvest by region")
    print(
        _table(sorted(by_region.values()), ["region", "sources", "records", "deleted", "quarantined", "works in index"])
    )
    for r in reports:
        for e in r.errors:
            print(f"error: {e}", file=sys.stderr)
    print("\nCross-regional index")
    print(
        _table(
            [
                ["works", manifest["works"]],
                ["works held in 2+ regions", manifest["cross_region_works"]],
                ["works held by 2+ sources", manifest["multi_source_works"]],
                ["merged by PID", manifest["match"].get("pid", 0)],
                ["merged by fallback key", manifest["match"].get("fallback", 0)],
                ["tombstones applied", manifest["tombstones_applied"]],
            ],
            ["", "count"],
        )
    )
    snap = data / "index" / "snapshots" / manifest["snapshot_id"]
    print(f"\nFiles under {data.resolve()}:")
    print("  records/     canonical records, Parquet, hive-partitioned region=/source_id=")
    print("  raw/         every record's XML as received")
    print("  quarantine/  what could not be mapped, with reason and raw XML")
    print("  runs/        one JSON run report per source and run")
    print(f"  index/       published snapshots; current: {snap.relative_to(data)}")
    print('\nNext: `harvest index info`, `harvest index query "SELECT ..."`, docs/analysts.md')


# ---- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harvest", description=__doc__)
    p.add_argument("--sources", help="sources folder (default: $HARVEST_SOURCES or ./sources)")
    p.add_argument("--data", help="data folder (default: $HARVEST_DATA or ./data)")
    sub = p.add_subparsers(dest="command", required=True)

    src = sub.add_parser("sources", help="partner configs").add_subparsers(dest="sub", required=True)
    src.add_parser("check", help="validate every source config").set_defaults(fn=cmd_sources_check)

    run = sub.add_parser("run", help="harvest sources")
    run.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    run.add_argument("--all", action="store_true", help="every configured source")
    run.add_argument("--full", action="store_true", help="ignore the watermark: full re-harvest")
    run.add_argument("--from", dest="from_", help="harvest from this datestamp (YYYY-MM-DD[Thh:mm:ssZ])")
    run.add_argument("--until", help="harvest until this datestamp")
    run.add_argument(
        "--restart", action="store_true", help="abandon an interrupted run's checkpoint instead of resuming it"
    )
    run.add_argument(
        "--checkpoint-rows",
        type=int,
        default=10_000,
        metavar="N",
        help="commit a durable chunk every N rows (default 10000)",
    )
    run.add_argument("--workers", type=int, default=4, help="sources harvested at once (default 4)")
    run.set_defaults(fn=cmd_run)

    rx = sub.add_parser("retransform", help="rebuild records from the raw layer (no network)")
    rx.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    rx.add_argument("--all", action="store_true")
    rx.add_argument("--crosswalk", help="crosswalk to use instead of the source's own")
    rx.set_defaults(fn=cmd_retransform)

    ap = sub.add_parser(
        "airflow-pools", help="print the Airflow pools (one per partner host) as JSON for `airflow pools import`"
    )
    ap.set_defaults(fn=cmd_airflow_pools)

    idx = sub.add_parser("index", help="the consolidated index").add_subparsers(dest="sub", required=True)
    b = idx.add_parser("build", help="consolidate and publish a new snapshot")
    b.add_argument("--memory-limit", help="DuckDB memory limit, e.g. 2GB")
    b.set_defaults(fn=cmd_index_build)
    idx.add_parser("info", help="print the current snapshot's manifest as JSON").set_defaults(fn=cmd_index_info)
    idx.add_parser("rollback", help="make the previous snapshot current").set_defaults(fn=cmd_index_rollback)
    q = idx.add_parser("query", help="run SQL over the current index (table: works)")
    q.add_argument("sql")
    q.add_argument("--limit", type=int, default=50)
    q.set_defaults(fn=cmd_index_query)

    demo = sub.add_parser("demo", help="run the whole pipeline on the bundled demo partner network")
    demo.add_argument(
        "action",
        nargs="?",
        choices=["run", "serve"],
        default="run",
        help="run: harvest + index (default); serve: only serve the partners",
    )
    demo.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port; 8765 for serve)")
    demo.add_argument(
        "--fault",
        action="append",
        metavar="PARTNER:KIND[,key=value...]",
        help="make a partner misbehave, e.g. 'eosc-zenodo:status,status=503,retry_after=5,page=2' "
        "(kinds: see harvest/demo/faults.py); repeatable",
    )
    demo.add_argument("--workers", type=int, default=4)
    demo.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except HarvestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
