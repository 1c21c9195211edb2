"""Versioned index snapshots with an atomic "current" switch.

    index/snapshots/<snapshot_id>/manifest.json
    index/snapshots/<snapshot_id>/works/part-00000.parquet
    index/CURRENT                      ← one line: the current snapshot id

A build writes into index/.building-<id>/, renames the finished directory into snapshots/ (one
atomic rename), then replaces CURRENT (another atomic rename). A process killed at any moment
leaves CURRENT naming a complete snapshot; readers resolve CURRENT once and read that snapshot.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from harvest.config.schemas import schema_version
from harvest.errors import IndexBuildError
from harvest.index.build import build_works
from harvest.store.datasets import committed_files
from harvest.store.storage import Storage, as_storage

KEEP_SNAPSHOTS = 5
INDEX = "index"
CURRENT = f"{INDEX}/CURRENT"


def _snapshot(snapshot_id: str) -> str:
    return f"{INDEX}/snapshots/{snapshot_id}"


def current_snapshot_id(storage: Storage | Path | str) -> str:
    """The id of the current snapshot; IndexBuildError if none was published."""
    storage = as_storage(storage)
    if not storage.exists(CURRENT):
        raise IndexBuildError(f"no index published under {storage.local(INDEX)}: run `harvest index build`")
    snapshot_id = storage.read_text(CURRENT).strip()
    if not storage.exists(f"{_snapshot(snapshot_id)}/manifest.json"):
        raise IndexBuildError(f"{storage.local(CURRENT)} names {snapshot_id}, which has no manifest")
    return snapshot_id


def current_snapshot(storage: Storage | Path | str) -> Path:
    """Where the current snapshot's files are (readers resolve it once: a consistent snapshot)."""
    storage = as_storage(storage)
    return storage.local(_snapshot(current_snapshot_id(storage)))


def read_manifest(storage: Storage | Path | str) -> dict:
    storage = as_storage(storage)
    return storage.read_json(f"{_snapshot(current_snapshot_id(storage))}/manifest.json")


def snapshots(storage: Storage | Path | str) -> list[str]:
    storage = as_storage(storage)
    return [s for s in storage.dirs(f"{INDEX}/snapshots") if storage.exists(f"{_snapshot(s)}/manifest.json")]


_RUN_ID = re.compile(r"part-(\d{8}T\d{6}Z-[0-9a-f]+)(?:-|$)")


def _inputs(storage: Storage) -> dict:
    inputs: dict[str, dict] = {}
    for rel in committed_files(storage, "records"):
        folder, name = rel.rsplit("/", 2)[-2:]
        entry = inputs.setdefault(folder.split("=", 1)[1], {"files": 0, "run_ids": []})
        entry["files"] += 1
        stem = name.removesuffix(".parquet")
        found = _RUN_ID.match(stem)  # part-<run>[-w<window>|-census]-<chunk>
        run_id = found.group(1) if found else stem.removeprefix("part-")
        if run_id not in entry["run_ids"]:
            entry["run_ids"].append(run_id)
    return inputs


def build_and_publish(
    data_dir: Storage | Path | str,
    *,
    priorities: dict[str, int] | None = None,
    keep: int = KEEP_SNAPSHOTS,
    memory_limit: str | None = None,
) -> dict:
    """Build a new snapshot from every committed records file, publish it, return its manifest."""
    storage = as_storage(data_dir)
    with storage.lock(f"{INDEX}/.lock"):  # one builder at a time; readers never need the lock
        for stale in storage.dirs(INDEX):  # what killed builds left
            if stale.startswith((".building-", ".work-")):
                storage.delete_tree(f"{INDEX}/{stale}")
        return _build_locked(storage, priorities=priorities, keep=keep, memory_limit=memory_limit)


def _build_locked(storage: Storage, *, priorities, keep: int, memory_limit) -> dict:
    now = datetime.now(UTC)
    snapshot_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    building = f"{INDEX}/.building-{snapshot_id}"
    try:
        files, stats = build_works(storage, building, priorities=priorities, memory_limit=memory_limit)
        holdings = [rel.removeprefix(building + "/") for rel in storage.glob(f"{building}/holdings/**/*.parquet")]
        summary = stats.summary  # counted by build_works from the rows it wrote
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
            "checksums": {f: "sha256:" + storage.sha256(f"{building}/{f}") for f in files + holdings},
            "inputs": _inputs(storage),
            "engine": f"duckdb {duckdb.__version__}",
        }
        storage.write_json(f"{building}/manifest.json", manifest)
        storage.rename(building, _snapshot(snapshot_id))
    except BaseException:
        storage.delete_tree(building)
        raise
    storage.write_text(CURRENT, snapshot_id + "\n")
    _prune(storage, keep)
    return manifest


def _prune(storage: Storage, keep: int) -> None:
    current = storage.read_text(CURRENT).strip()
    for old in snapshots(storage)[:-keep]:
        if old != current:
            storage.delete_tree(_snapshot(old))


def rollback(data_dir: Storage | Path | str) -> str:
    """Make the snapshot before the current one current again; returns its id."""
    storage = as_storage(data_dir)
    current = current_snapshot_id(storage)
    older = [s for s in snapshots(storage) if s < current]
    if not older:
        raise IndexBuildError("no earlier snapshot to roll back to")
    storage.write_text(CURRENT, older[-1] + "\n")
    return older[-1]
