"""A run split into plan → windows → finish (what Airflow's mapped tasks do) harvests exactly what
the single-process run harvests, resumes a failed window on its own, and moves the watermark once."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harvest.demo.catalog import records_for
from harvest.runs.planned import finish_run, harvest_window, plan_run, run_planned
from harvest.runs.run import run_source
from harvest.store.datasets import committed_files, read_committed
from harvest.store.state import load_state


def _live(data_dir, source_id) -> set[tuple]:
    t = read_committed(data_dir, "records", source_id)
    return set(
        zip(
            t.column("oai_identifier").to_pylist(),
            t.column("datestamp").to_pylist(),
            t.column("deleted").to_pylist(),
            t.column("title").to_pylist(),
        )
    )


@pytest.mark.parametrize(
    "source_id", ["ardc-rda", "lareferencia", "cstcloud-sciencedb", "aosp-africa", "mosp-malaysia"]
)
def test_planned_windows_harvest_what_one_run_harvests(demo_sources, tmp_path, source_id):
    src = next(s for s in demo_sources if s.id == source_id)
    one = run_source(src, tmp_path / "one")
    planned = run_planned(src, tmp_path / "planned")
    assert one.status == planned.status == "complete", planned.errors
    assert len(planned.windows) > 1  # really cut into windows
    assert (planned.records, planned.deleted, planned.quarantined, planned.census_tombstones) == (
        one.records,
        one.deleted,
        one.quarantined,
        one.census_tombstones,
    )
    assert _live(tmp_path / "planned", src.id) == _live(tmp_path / "one", src.id)
    assert planned.records + planned.quarantined == len(records_for(src.id))
    state = load_state(tmp_path / "planned", src.id)
    assert state.watermark == planned.watermark_after and state.last_run_id == planned.run_id
    assert state.in_progress is None
    report = json.loads((tmp_path / "planned" / "runs" / src.id / f"{planned.run_id}.json").read_text())
    assert report["status"] == "complete" and report["validation"]["live_records"] > 0
    assert not list((tmp_path / "planned" / "state" / "windows" / src.id).glob("*-w*.json"))  # cleaned up


def test_a_failed_window_fails_the_run_keeps_the_watermark_and_resumes_alone(demo_network, demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "ardc-rda")
    plan = plan_run(src, tmp_path)
    broken = replace(
        src, endpoint="http://127.0.0.1:9/oai", politeness=replace(src.politeness, max_retries=0, timeout_seconds=2)
    )
    first, *others = plan["windows"]
    assert harvest_window(broken, tmp_path, plan["run_id"], first["index"]).status == "failed"
    for w in others:
        assert harvest_window(src, tmp_path, plan["run_id"], w["index"]).status == "complete"
    failed = finish_run(src, tmp_path, plan["run_id"])
    assert failed.status == "failed" and any("127.0.0.1:9" in e for e in failed.errors)
    assert load_state(tmp_path, src.id).watermark is None  # not moved
    retried = harvest_window(src, tmp_path, plan["run_id"], first["index"])  # the task's retry
    assert retried.status == "complete"
    done = finish_run(src, tmp_path, plan["run_id"])
    assert done.status == "complete", done.errors
    assert done.records + done.quarantined == len(records_for(src.id))
    assert load_state(tmp_path, src.id).watermark == plan["watermark_after"]


def test_a_planned_run_asks_identify_once_not_once_per_window(demo_network, demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "ardc-rda")
    before = demo_network.requests(src.id, "Identify"), demo_network.requests(src.id, "ListRecords")
    done = run_planned(src, tmp_path)
    assert done.status == "complete" and len(done.windows) > 2, done.errors
    assert demo_network.requests(src.id, "Identify") - before[0] == 1
    assert demo_network.requests(src.id, "ListRecords") - before[1] >= len(done.windows)
    assert load_state(tmp_path, src.id).watermark == done.watermark_after


def test_incremental_and_full_planned_runs(demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "ardc-rda")
    first = run_planned(src, tmp_path)
    second = run_planned(src, tmp_path)
    assert second.status == "complete" and second.records == 0
    assert second.watermark_before == first.watermark_after
    before = set(committed_files(tmp_path, "records", src.id))
    full = run_planned(src, tmp_path, full=True)
    after = set(committed_files(tmp_path, "records", src.id))
    assert full.records == first.records and not (before & after)  # replaced, not added to
    ranged = run_planned(src, tmp_path, from_="2020-01-01", until="2020-12-31")
    assert ranged.status == "complete"
    assert load_state(tmp_path, src.id).watermark == full.watermark_after  # a ranged run never moves it


def test_the_index_manifest_names_the_runs_behind_it(demo_sources, tmp_path):
    from harvest.publish.snapshots import build_and_publish

    by_id = {s.id: s for s in demo_sources}
    planned = run_planned(by_id["ardc-rda"], tmp_path)
    single = run_source(by_id["mosp-malaysia"], tmp_path)
    inputs = build_and_publish(tmp_path)["inputs"]
    assert inputs["ardc-rda"]["run_ids"] == [planned.run_id]  # not one entry per window or chunk
    assert inputs["ardc-rda"]["files"] == len([f for f in planned.files if f.startswith("records/")])
    assert inputs["mosp-malaysia"]["run_ids"] == [single.run_id]


def test_more_windows_than_airflow_may_map_are_joined_without_a_gap(demo_sources, tmp_path):
    from harvest.runs.planned import join_windows

    src = replace(next(s for s in demo_sources if s.id == "lareferencia"), window="month")
    plan = plan_run(src, tmp_path, max_windows=7)
    assert len(plan["windows"]) <= 7
    for s in {w["set_spec"] for w in plan["windows"]}:
        mine = [w for w in plan["windows"] if w["set_spec"] == s]
        assert mine[0]["from"] is None and mine[-1]["until"] == plan["watermark_after"]
    units = [("a", f"2020-{m:02d}-01", f"2020-{m:02d}-28") for m in range(1, 11)] + [("b", None, "2021-01-01")]
    assert join_windows(units, 4) == [
        ("a", "2020-01-01", "2020-05-28"),
        ("a", "2020-06-01", "2020-10-28"),
        ("b", None, "2021-01-01"),
    ]
    for w in plan["windows"]:
        assert harvest_window(src, tmp_path, plan["run_id"], w["index"]).status == "complete"
    done = finish_run(src, tmp_path, plan["run_id"])
    assert done.status == "complete" and done.records + done.quarantined == len(records_for(src.id))
