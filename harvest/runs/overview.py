"""The operators' overview of every source (no Airflow here: plugins/ serves it): last harvest,
watermark, counts, last error, field fill rates, and the current index manifest."""
from __future__ import annotations

import json
from pathlib import Path

from harvest.config.sources import check_sources
from harvest.store.state import load_state


def _last_report(data_dir: Path, source_id: str, run_id: str | None) -> dict:
    runs = Path(data_dir) / "runs" / source_id
    path = runs / f"{run_id}.json" if run_id else None
    if path is None or not path.exists():
        found = sorted(runs.glob("*.json")) if runs.is_dir() else []
        path = found[-1] if found else None
    return json.loads(path.read_text()) if path else {}


def _last_success(data_dir: Path, source_id: str) -> str | None:
    runs = Path(data_dir) / "runs" / source_id
    for path in sorted(runs.glob("*.json"), reverse=True) if runs.is_dir() else []:
        report = json.loads(path.read_text())
        if report.get("status") == "complete":
            return report.get("finished_at")
    return None


def overview(data_dir: Path, sources_dir: Path) -> dict:
    """{'sources': [one row per source config], 'invalid_configs': [...], 'index': manifest or None}."""
    sources, problems = check_sources(sources_dir)
    rows = []
    for src in sources:
        state = load_state(data_dir, src.id)
        report = _last_report(data_dir, src.id, state.last_run_id)
        fill = (report.get("validation") or {}).get("fill_rates") or {}
        rows.append({
            "source_id": src.id, "name": src.name, "region": src.region, "format": src.metadata_prefix,
            "dag_id": f"harvest_{src.id}".replace("-", "_"),
            "last_run_id": state.last_run_id, "last_status": state.last_status,
            "in_progress": bool(state.in_progress), "last_success": _last_success(data_dir, src.id),
            "watermark": state.watermark,
            "records": report.get("records"), "deleted": report.get("deleted"),
            "quarantined": report.get("quarantined"),
            "last_error": (report.get("errors") or [None])[-1],
            "quality": round(sum(fill.values()) / len(fill), 3) if fill else None,
            "fill_rates": fill,
        })
    from harvest.errors import IndexBuildError
    from harvest.publish.snapshots import read_manifest

    try:
        index = read_manifest(data_dir)
    except IndexBuildError:   # no index published yet: a normal state for the page
        index = None
    return {"sources": rows, "invalid_configs": [str(p) for p in problems], "index": index}
