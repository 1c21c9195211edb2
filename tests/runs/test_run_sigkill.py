"""SIGKILL a harvest at several points, run it again: every record exactly once, as if never killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harvest.demo import DemoNetwork
from harvest.demo.faults import Fault
from harvest.store.datasets import read_committed

PID = "eosc-zenodo"


@pytest.fixture(scope="module")
def slow_net():
    with DemoNetwork() as net:
        net.inject(PID, Fault("slow", seconds=0.02, page=None, times=None, verb=None))
        yield net


def write_source(folder, url):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{PID}.yaml").write_text(
        f"id: {PID}\nname: Zenodo demo\nregion: europe\nendpoint: {url}\nmetadata_prefix: oai_datacite\nwindow: year\n"
    )


def harvest_cmd(sources, data, workers: str = ""):
    env = {**os.environ, "HARVEST_SOURCES": str(sources), "HARVEST_DATA": str(data), "HARVEST_PARSE_WORKERS": workers}
    cmd = [sys.executable, "-m", "harvest.cli", "run", PID, "--checkpoint-rows", "20"]
    return cmd, env


def committed_pages(data) -> int:
    try:
        state = json.loads((data / "state" / f"{PID}.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return 0
    return sum(u["pages"] for u in (state.get("in_progress") or {}).get("units", []))


def record_set(data) -> list[tuple]:
    t = read_committed(data, "records", PID)
    return sorted(zip(t.column("oai_identifier").to_pylist(), t.column("datestamp").to_pylist()))


@pytest.fixture(scope="module")
def uninterrupted(slow_net, tmp_path_factory):
    base = tmp_path_factory.mktemp("whole")
    write_source(base / "sources", slow_net.url_for(PID))
    cmd, env = harvest_cmd(base / "sources", base / "data")
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
    return record_set(base / "data")


@pytest.mark.parametrize("workers", ["2", "0"], ids=["parse-workers", "single-process"])
@pytest.mark.parametrize("kill_after_pages", [1, 4, 9])
def test_sigkill_then_rerun_gives_the_same_records(slow_net, uninterrupted, tmp_path, kill_after_pages, workers):
    write_source(tmp_path / "sources", slow_net.url_for(PID))
    cmd, env = harvest_cmd(tmp_path / "sources", tmp_path / "data", workers)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while committed_pages(tmp_path / "data") < kill_after_pages and proc.poll() is None:
        assert time.monotonic() < deadline, "the harvest made no progress"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the harvest finished before it could be killed"
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert record_set(tmp_path / "data") == uninterrupted
    assert len(uninterrupted) == len(set(uninterrupted)) > 500
    assert not list((tmp_path / "data").rglob(".part-*.tmp"))
    report = json.loads(sorted((tmp_path / "data" / "runs" / PID).glob("*.json"))[-1].read_text())
    assert report["resumed"] and report["status"] == "complete"
