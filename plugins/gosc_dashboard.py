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
    return (Path(os.environ.get("HARVEST_DATA") or PROJECT / "data"),
            Path(os.environ.get("HARVEST_SOURCES") or PROJECT / "sources"))


app = FastAPI(title="gosc-harvest dashboard", dependencies=[Depends(get_user)])


@app.get("/api/overview")
def api_overview() -> dict:
    from harvest.dashboard import overview

    return overview(*_dirs())


_COLUMNS = ["source_id", "region", "format", "last_status", "last_success", "watermark", "records",
            "deleted", "quarantined", "quality", "last_error"]


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    from harvest.dashboard import overview

    data = overview(*_dirs())
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in _COLUMNS)
    body = "".join(
        "<tr>" + "".join(
            f"<td><a href='/dags/{escape(r['dag_id'])}'>{escape(r['source_id'])}</a></td>" if c == "source_id"
            else f"<td>{escape('' if r[c] is None else str(r[c]))}</td>" for c in _COLUMNS) + "</tr>"
        for r in data["sources"])
    idx = data["index"]
    summary = (f"<p>Index snapshot <b>{escape(idx['snapshot_id'])}</b>: {idx['works']:,} works, "
               f"{idx['cross_region_works']:,} held in two or more regions, built {escape(idx['built_at'])}.</p>"
               if idx else "<p>No index published yet.</p>")
    bad = "".join(f"<li>{escape(p)}</li>" for p in data["invalid_configs"])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Harvest dashboard</title>"
            "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#eef}</style></head>"
            f"<body><h1>gosc-harvest: sources</h1>{summary}<table><tr>{head}</tr>{body}</table>"
            + (f"<h2>Invalid source configs</h2><ul>{bad}</ul>" if bad else "") + "</body></html>")


class GoscDashboardPlugin(AirflowPlugin):
    name = "gosc_dashboard"
    fastapi_apps = [{"app": app, "url_prefix": "/gosc", "name": "gosc-harvest dashboard"}]
    external_views = [{"name": "Harvest dashboard", "href": "/gosc/", "destination": "nav",
                       "url_route": "gosc-harvest"}]
