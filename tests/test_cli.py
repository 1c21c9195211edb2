"""The `harvest` command as users and the acceptance checks drive it (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import PROJECT

HARVEST = [sys.executable, "-m", "harvest.cli"]


def harvest(*args, env=None, cwd=PROJECT):
    return subprocess.run(
        [*HARVEST, *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300
    )


def test_demo_then_index_info(tmp_path):
    env = {"HARVEST_DATA": str(tmp_path / "data")}
    demo = harvest("demo", env={**env, "HARVEST_SOURCES": str(tmp_path / "elsewhere")})
    assert demo.returncode == 0, demo.stderr
    assert "Cross-regional index" in demo.stdout and "latin-america" in demo.stdout
    assert "page" in demo.stderr and "rec/s" in demo.stderr  # progress was shown
    info = harvest("index", "info", env=env)
    manifest = json.loads(info.stdout)
    assert len(manifest["regions"]) >= 5 and manifest["cross_region_works"] > 0
    snap = tmp_path / "data" / "index" / "snapshots" / manifest["snapshot_id"]
    assert all((snap / f).exists() for f in manifest["files"])
    query = harvest("index", "query", "SELECT count(*) AS n FROM works WHERE region_count >= 2", env=env)
    assert query.returncode == 0 and str(manifest["cross_region_works"]) in query.stdout


def test_sources_check_reports_every_bad_file(tmp_path):
    (tmp_path / "good.yaml").write_text(
        "id: good\nname: G\nregion: africa\nendpoint: https://g.example/oai\nmetadata_prefix: oai_dc\n"
    )
    (tmp_path / "bad.yaml").write_text(
        "id: bad\nname: B\nregion: atlantis\nendpoint: https://b.example/oai\nmetadata_prefix: oai_dc\n"
    )
    result = harvest("sources", "check", env={"HARVEST_SOURCES": str(tmp_path)})
    assert result.returncode == 1
    assert "good" in result.stdout and "1 valid source(s), 1 invalid" in result.stdout
    assert "bad.yaml: field 'region': 'atlantis' is not one of" in result.stderr


def test_run_unknown_source_and_missing_index_are_clear_errors(tmp_path):
    env = {"HARVEST_DATA": str(tmp_path / "data"), "HARVEST_SOURCES": str(PROJECT / "sources" / "demo")}
    result = harvest("run", "no-such-source", env=env)
    assert result.returncode == 1 and "unknown source id(s): no-such-source" in result.stderr
    result = harvest("index", "info", env=env)
    assert result.returncode == 1 and "no index published" in result.stderr


def test_run_against_the_demo_network(demo_network, tmp_path):
    env = {
        "HARVEST_DATA": str(tmp_path / "data"),
        "HARVEST_SOURCES": str(PROJECT / "sources" / "demo"),
        "GOSC_DEMO_URL": demo_network.base_url,
    }
    result = harvest("run", "ardc-rda", "mosp-malaysia", env=env)
    assert result.returncode == 0, result.stderr
    assert "ardc-rda" in result.stdout and "complete" in result.stdout
    assert len(list((tmp_path / "data" / "runs").glob("*/*.json"))) == 2
