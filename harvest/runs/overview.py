"""The operators' overview of every source (no Airflow here: plugins/ serves it): last harvest,
watermark, counts, last error, field fill rates, and the current index manifest."""

from __future__ import annotations

from pathlib import Path

from harvest.config import check_sources
from harvest.errors import IndexBuildError
from harvest.publish.snapshots import read_manifest
from harvest.runs.report import report_file
from harvest.store.state import load_state
from harvest.store.storage import Storage, as_storage


def _last_report(storage: Storage, source_id: str, run_id: str | None) -> dict:
    report = storage.read_json(report_file(source_id, run_id), None) if run_id else None
    if report is None:
        found = storage.glob(f"runs/{source_id}/*.json")
        report = storage.read_json(found[-1]) if found else {}
    return report


def _last_success(storage: Storage, source_id: str) -> str | None:
    for rel in reversed(storage.glob(f"runs/{source_id}/*.json")):
        report = storage.read_json(rel)
        if report.get("status") == "complete":
            return report.get("finished_at")
    return None


def overview(data_dir: Storage | Path | str, sources_dir: Path) -> dict:
    """{'sources': [one row per source config], 'invalid_configs': [...], 'index': manifest or None}."""
    storage = as_storage(data_dir)
    sources, problems = check_sources(sources_dir)
    rows = []
    for src in sources:
        state = load_state(storage, src.id)
        report = _last_report(storage, src.id, state.last_run_id)
        fill = (report.get("validation") or {}).get("fill_rates") or {}
        rows.append(
            {
                "source_id": src.id,
                "name": src.name,
                "region": src.region,
                "format": src.metadata_prefix,
                "dag_id": f"harvest_{src.id}".replace("-", "_"),
                "last_run_id": state.last_run_id,
                "last_status": state.last_status,
                "in_progress": bool(state.in_progress),
                "last_success": _last_success(storage, src.id),
                "watermark": state.watermark,
                "records": report.get("records"),
                "deleted": report.get("deleted"),
                "quarantined": report.get("quarantined"),
                "last_error": (report.get("errors") or [None])[-1],
                "quality": round(sum(fill.values()) / len(fill), 3) if fill else None,
                "fill_rates": fill,
            }
        )
    try:
        index = read_manifest(storage)
    except IndexBuildError:  # no index published yet: a normal state for the page
        index = None
    return {"sources": rows, "invalid_configs": [str(p) for p in problems], "index": index}
