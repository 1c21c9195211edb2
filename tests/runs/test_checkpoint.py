"""Checkpoints are versioned: the first version (an untyped dict of 14 keys) still resumes, an
unknown version is refused with a message that names the file and the way out."""

from __future__ import annotations

import json

import pytest

from harvest.config import Politeness, Source
from harvest.demo.faults import Fault
from harvest.errors import HarvestError
from harvest.runs.checkpoint import VERSION, Checkpoint, Unit
from harvest.runs.run import run_source
from harvest.store.datasets import read_committed

PID = "mosp-malaysia"


def source(net) -> Source:
    return Source(
        id=PID,
        name="Malaysia",
        region="malaysia",
        endpoint=net.url_for(PID),
        metadata_prefix="oai_dc",
        window="none",
        politeness=Politeness(max_retries=0, max_retry_after_seconds=0),
    )


def interrupted(net, data) -> dict:
    """The state of a run that failed half-way (a 503 on the third page), with its checkpoint."""
    net.inject(PID, Fault("status", status=503, page=3, times=None))
    try:
        report = run_source(source(net), data, chunk_rows=1, parse_workers=0)
    finally:
        net.reset()
    assert report.status == "failed" and report.records > 0
    return json.loads((data / "state" / f"{PID}.json").read_text())


def as_version_1(checkpoint: dict) -> dict:
    """The same checkpoint as the harvester before versioning wrote it."""
    old = dict(checkpoint)
    del old["version"]
    old["transfer"] = old.pop("transferred")
    assert len(old) == 14
    return old


def ids(data) -> list[str]:
    return sorted(read_committed(data, "records", PID).column("oai_identifier").to_pylist())


def test_a_checkpoint_of_the_first_version_resumes_with_every_record_once(demo_network, tmp_path):
    state = interrupted(demo_network, tmp_path / "run")
    assert state["in_progress"]["version"] == VERSION
    state["in_progress"] = as_version_1(state["in_progress"])
    (tmp_path / "run" / "state" / f"{PID}.json").write_text(json.dumps(state))
    resumed = run_source(source(demo_network), tmp_path / "run", parse_workers=0)
    assert resumed.resumed and resumed.status == "complete", resumed.errors
    run_source(source(demo_network), tmp_path / "whole", parse_workers=0)
    assert ids(tmp_path / "run") == ids(tmp_path / "whole")
    assert len(set(ids(tmp_path / "run"))) == len(ids(tmp_path / "run"))


def test_a_checkpoint_of_an_unknown_version_is_refused_naming_the_file_and_restart(demo_network, tmp_path):
    state = interrupted(demo_network, tmp_path)
    state["in_progress"]["version"] = VERSION + 1
    (tmp_path / "state" / f"{PID}.json").write_text(json.dumps(state))
    report = run_source(source(demo_network), tmp_path, parse_workers=0)
    assert report.status == "failed"
    message = " ".join(report.errors)
    assert f"state/{PID}.json" in message and f"version {VERSION + 1}" in message and "--restart" in message
    again = run_source(source(demo_network), tmp_path, restart=True, parse_workers=0)
    assert again.status == "complete" and not again.resumed


def test_a_checkpoint_round_trips_and_a_damaged_one_is_refused():
    cp = Checkpoint(
        "r1",
        "oai_dc",
        "2026-01-01T00:00:00+00:00",
        "YYYY-MM-DD",
        "2026-01-02",
        units=[Unit("set", "2025-01-01", "2025-12-31", status="active", token="t", chunks=["a"])],
    )
    assert Checkpoint.from_dict(json.loads(json.dumps(cp.to_dict())), "here") == cp
    damaged = cp.to_dict()
    del damaged["units"][0]["set_spec"]
    with pytest.raises(HarvestError, match="here: the checkpoint of run r1 cannot be read"):
        Checkpoint.from_dict(damaged, "here")
