"""Versioned index snapshots with an atomic "current" switch.

    index/snapshots/<snapshot_id>/manifest.json
    index/snapshots/<snapshot_id>/works/part-00000.parquet
    index/CURRENT                      ← one line: the current snapshot id

A build writes into index/.building-<id>/, renames the finished directory into snapshots/ (one
atomic rename), then replaces CURRENT (another atomic rename). A process killed at any moment
leaves CURRENT naming a complete snapshot; readers resolve CURRENT once and read that snapshot.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from harvest.errors import IndexBuildError
from harvest.index.build import build_works
from harvest.index.sinks import file_sha256
from harvest.config.schemas import schema_version
from harvest.store.state import write_json_atomic
from harvest.store.datasets import committed_files

KEEP_SNAPSHOTS = 5


def index_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "index"


def current_snapshot(data_dir: Path) -> Path:
    """The directory of the current snapshot; IndexBuildError if none was published."""
    pointer = index_dir(data_dir) / "CURRENT"
    if not pointer.exists():
        raise IndexBuildError(f"no index published under {index_dir(data_dir)}: run `harvest index build`")
    snap = index_dir(data_dir) / "snapshots" / pointer.read_text().strip()
    if not (snap / "manifest.json").exists():
        raise IndexBuildError(f"{pointer} names {snap.name}, which has no manifest")
    return snap


def read_manifest(data_dir: Path) -> dict:
    return json.loads((current_snapshot(data_dir) / "manifest.json").read_text())


def _switch(data_dir: Path, snapshot_id: str) -> None:
    pointer = index_dir(data_dir) / "CURRENT"
    tmp = pointer.with_name(".CURRENT.tmp")
    with open(tmp, "w") as fh:
        fh.write(snapshot_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, pointer)


def snapshots(data_dir: Path) -> list[str]:
    root = index_dir(data_dir) / "snapshots"
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").exists()) if root.is_dir() else []


def _holdings_files(snapshot: Path) -> list[str]:
    """holdings/region=…/: every (work, holding record) pair, hive-partitioned by region, for analysts
    who filter by region (a work held in three regions appears in three partitions); written by
    build_works from the same sorted stream as the works, so memory does not grow with the index."""
    return sorted(str(p.relative_to(snapshot)) for p in (snapshot / "holdings").rglob("*.parquet"))


_RUN_ID = re.compile(r"part-(\d{8}T\d{6}Z-[0-9a-f]+)(?:-|$)")


def _inputs(data_dir: Path) -> dict:
    inputs: dict[str, dict] = {}
    for f in committed_files(data_dir, "records"):
        source = f.parent.name.split("=", 1)[1]
        entry = inputs.setdefault(source, {"files": 0, "run_ids": []})
        entry["files"] += 1
        found = _RUN_ID.match(f.stem)   # part-<run>[-w<window>|-census]-<chunk>
        run_id = found.group(1) if found else f.stem.removeprefix("part-")
        if run_id not in entry["run_ids"]:
            entry["run_ids"].append(run_id)
    return inputs


def build_and_publish(data_dir: Path, *, priorities: dict[str, int] | None = None,
                      keep: int = KEEP_SNAPSHOTS, memory_limit: str | None = None) -> dict:
    """Build a new snapshot from every committed records file, publish it, return its manifest."""
    data_dir = Path(data_dir)
    index_dir(data_dir).mkdir(parents=True, exist_ok=True)
    with open(index_dir(data_dir) / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # one builder at a time; readers never need the lock
        for stale in [*index_dir(data_dir).glob(".building-*"), *index_dir(data_dir).glob(".work-*")]:  # killed builds
            shutil.rmtree(stale, ignore_errors=True)
        return _build_locked(data_dir, priorities=priorities, keep=keep, memory_limit=memory_limit)


def _build_locked(data_dir: Path, *, priorities, keep: int, memory_limit) -> dict:
    now = datetime.now(timezone.utc)
    snapshot_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    building = index_dir(data_dir) / f".building-{snapshot_id}"
    building.mkdir(parents=True)
    try:
        files, stats = build_works(data_dir, building, priorities=priorities, memory_limit=memory_limit)
        holdings = _holdings_files(building)
        summary = stats.summary   # counted by build_works from the rows it wrote
        manifest = {
            "schema_version": schema_version("index"),
            "snapshot_id": snapshot_id,
            "built_at": now.isoformat(),
            "works": summary["totals"]["works"],
            "regions": dict(sorted(summary["regions"].items())),
            "sources": dict(sorted(summary["sources"].items())),
            "cross_region_works": summary["totals"]["cross_region_works"],
            "multi_source_works": summary["totals"]["multi_source_works"],
            "match": dict(sorted(summary["match"].items())),
            "records_in": stats.records_in,
            "tombstones_applied": stats.tombstones,
            "live_records": stats.live_records,
            "clustering_iterations": stats.iterations,
            "files": files,
            "tables": {"works": files, "holdings": holdings},
            "checksums": {f: "sha256:" + file_sha256(building / f) for f in files + holdings},
            "inputs": _inputs(data_dir),
            "engine": f"duckdb {duckdb.__version__}",
        }
        write_json_atomic(building / "manifest.json", manifest)
        final = index_dir(data_dir) / "snapshots" / snapshot_id
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _switch(data_dir, snapshot_id)
    _prune(data_dir, keep)
    return manifest


def _prune(data_dir: Path, keep: int) -> None:
    current = (index_dir(data_dir) / "CURRENT").read_text().strip()
    for old in snapshots(data_dir)[:-keep]:
        if old != current:
            shutil.rmtree(index_dir(data_dir) / "snapshots" / old, ignore_errors=True)


def rollback(data_dir: Path) -> str:
    """Make the snapshot before the current one current again; returns its id."""
    current = current_snapshot(data_dir).name
    older = [s for s in snapshots(data_dir) if s < current]
    if not older:
        raise IndexBuildError("no earlier snapshot to roll back to")
    _switch(data_dir, older[-1])
    return older[-1]
