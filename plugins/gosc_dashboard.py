"""The operators' dashboard in the Airflow 3 UI: every source's last harvest, watermark, counts,
last error and quality, and the current index. A FastAPI app served by Airflow's API server under
/gosc; plugin apps get no authentication of their own, so every route requires a valid Airflow
login (the UI's cookie) or token (`Authorization: Bearer`)."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

PROJECT = Path(__file__).resolve().parent.parent


def _dirs() -> tuple[Path, Path]:
    return (
        Path(os.environ.get("HARVEST_DATA") or PROJECT / "data"),
        Path(os.environ.get("HARVEST_SOURCES") or PROJECT / "sources"),
    )


app = FastAPI(title="gosc-harvest dashboard", dependencies=[Depends(get_user)])


def _latest_dag_runs(dag_ids: list[str]) -> dict[str, dict]:
    """The latest Airflow run of each source DAG: its state (queued, running, success, failed)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    latest = (
        select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
        .where(DagRun.dag_id.in_(dag_ids))
        .group_by(DagRun.dag_id)
        .subquery()
    )
    query = select(DagRun.dag_id, DagRun.run_id, DagRun.state).join(
        latest, (DagRun.dag_id == latest.c.dag_id) & (DagRun.run_after == latest.c.run_after)
    )
    with create_session() as session:
        return {d: {"dag_run_id": r, "dag_run_state": str(st) if st else None} for d, r, st in session.execute(query)}


def _overview() -> dict:
    from harvest.runs.overview import overview

    data = overview(*_dirs())
    runs = _latest_dag_runs([r["dag_id"] for r in data["sources"]])
    for row in data["sources"]:
        row.update(runs.get(row["dag_id"], {"dag_run_id": None, "dag_run_state": None}))
    return data


@app.get("/api/overview")
def api_overview() -> dict:
    return _overview()


_COLUMNS = [
    "source_id",
    "region",
    "format",
    "dag_run_state",
    "last_status",
    "last_success",
    "watermark",
    "records",
    "deleted",
    "quarantined",
    "quality",
    "last_error",
]
_HEADINGS = {"dag_run_state": "airflow run", "last_status": "last harvest"}


def _cell(row: dict, column: str) -> str:
    value = row[column]
    if column == "source_id":  # the page is shown in the Airflow UI's frame: links open in the UI
        return f"<td><a target='_top' href='/dags/{escape(row['dag_id'])}'>{escape(value)}</a></td>"
    if column == "dag_run_state" and value:
        return (
            f"<td class='{escape(value)}'><a target='_top' href='/dags/{escape(row['dag_id'])}/runs/"
            f"{escape(row['dag_run_id'])}'>{escape(value)}</a></td>"
        )
    if column == "quality" and value is not None:
        rates = ", ".join(f"{k} {v:.0%}" for k, v in row["fill_rates"].items())
        return f"<td title='{escape(rates)}'>{value:.0%}</td>"
    return f"<td class='{escape(str(value))}'>{escape('' if value is None else str(value))}</td>"


def _index_summary(idx: dict | None) -> str:
    if not idx:
        return "<p>No index published yet.</p>"
    regions = "".join(f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in sorted(idx["regions"].items()))
    return (
        f"<h2>Index</h2><p>Snapshot <b>{escape(idx['snapshot_id'])}</b>: {idx['works']:,} works, "
        f"{idx['cross_region_works']:,} held in two or more regions, built {escape(idx['built_at'])}.</p>"
        f"<table><tr><th>region</th><th>works</th></tr>{regions}</table>"
    )


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    data = _overview()
    head = "".join(f"<th>{escape(_HEADINGS.get(c, c.replace('_', ' ')))}</th>" for c in _COLUMNS)
    body = "".join("<tr>" + "".join(_cell(r, c) for c in _COLUMNS) + "</tr>" for r in data["sources"])
    summary = _index_summary(data["index"])
    bad = "".join(f"<li>{escape(p)}</li>" for p in data["invalid_configs"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Harvest dashboard</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#eef}"
        ".success,.complete{background:#e6f4ea}.failed{background:#fce8e6}.partial,.running,.queued"
        "{background:#fef7e0}</style></head>"
        f"<body><h1>gosc-harvest: sources</h1><table><tr>{head}</tr>{body}</table>{summary}"
        + (f"<h2>Invalid source configs</h2><ul>{bad}</ul>" if bad else "")
        + "</body></html>"
    )


class GoscDashboardPlugin(AirflowPlugin):
    name = "gosc_dashboard"
    fastapi_apps = [{"app": app, "url_prefix": "/gosc", "name": "gosc-harvest dashboard"}]
    external_views = [
        {"name": "Harvest dashboard", "href": "/gosc/", "destination": "nav", "url_route": "gosc-harvest"}
    ]
