"""The dashboard plugin: real FastAPI app, real Airflow auth manager; anonymous requests refused."""

from __future__ import annotations

import pytest

from harvest.runs.run import run_source
from tests.conftest import PROJECT

pytestmark = pytest.mark.airflow


@pytest.fixture
def client(airflow_db, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.syspath_prepend(str(PROJECT / "plugins"))
    import gosc_dashboard

    return TestClient(gosc_dashboard.app)


def token() -> str:
    from airflow.api_fastapi.app import get_auth_manager, init_auth_manager

    init_auth_manager()
    manager = get_auth_manager()
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return manager.generate_jwt(SimpleAuthManagerUser(username="operator", role="viewer"))


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/overview").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/overview", headers={"Authorization": "Bearer not-a-token"}).status_code in (401, 403)


def test_the_dashboard_shows_every_source_and_the_index(client, demo_sources, tmp_path, monkeypatch):
    from harvest.publish.snapshots import build_and_publish

    monkeypatch.setenv("HARVEST_DATA", str(tmp_path))
    for src in demo_sources[:2]:
        run_source(src, tmp_path)
    build_and_publish(tmp_path)
    headers = {"Authorization": f"Bearer {token()}"}
    data = client.get("/api/overview", headers=headers).json()
    rows = {r["source_id"]: r for r in data["sources"]}
    assert set(rows) == {p.stem for p in (PROJECT / "sources" / "demo").glob("*.yaml")}
    harvested = rows[demo_sources[0].id]
    assert harvested["last_status"] == "complete" and harvested["records"] > 0 and harvested["watermark"]
    assert 0 < harvested["quality"] <= 1 and harvested["dag_id"].startswith("harvest_")
    assert harvested["dag_run_state"] is None  # Airflow has run no DAG in this database
    assert rows[demo_sources[-1].id]["last_status"] is None  # never harvested yet
    assert data["index"]["works"] > 0
    page = client.get("/", headers=headers)
    assert page.status_code == 200 and demo_sources[0].id in page.text and "works" in page.text
