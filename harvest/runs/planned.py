"""A harvest run split into steps an orchestrator can run as separate tasks: plan the windows,
harvest each window (in parallel, each resumable on its own), then finish the run.

`harvest run` drives a run in one process (harvest.runs.run.run_source); Airflow maps one
task per window (dags/gosc_harvest.py). The steps share nothing but files under the data folder:

    state/windows/<source>/<run>.plan.json     the plan: Identify's answers and the (set, window) list
    state/windows/<source>/<run>-w<NNN>.json   a window's own checkpoint (resumed when its task retries)
    runs/<source>/windows/<run>-w<NNN>.json    a window's report
    runs/<source>/<run>.json                   the run's report, written by `finish_run`

A window is a ranged harvest of one set and one date range with the planned run's id, so it never
moves the source's watermark; `finish_run` moves it once every window is complete, runs the
deletion census where the provider needs one, and (for a full re-harvest) drops older files.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from harvest.config import Credentials, Source
from harvest.crosswalk import get_crosswalk
from harvest.errors import HarvestError
from harvest.oai import OAIClient
from harvest.records.rows import Lineage
from harvest.runs.census import census_wanted, take_census
from harvest.runs.finish import close_run
from harvest.runs.plan import plan_run as plan_checkpoint
from harvest.runs.report import RunReport
from harvest.runs.run import run_source
from harvest.store.state import delete_state, load_state
from harvest.store.storage import Storage, as_storage

SUMMED = ("pages", "records", "deleted", "quarantined", "requests", "retries", "bytes", "illegal_chars_removed")


def _plan_file(source_id: str, run_id: str) -> str:
    return f"state/windows/{source_id}/{run_id}.plan.json"


def window_run_id(run_id: str, index: int) -> str:
    return f"{run_id}-w{index:03d}"


def _window_state_id(source_id: str, run_id: str, index: int) -> str:
    return f"windows/{source_id}/{window_run_id(run_id, index)}"


def _window_reports(source_id: str) -> str:
    return f"runs/{source_id}/windows"


def plan_run(
    source: Source,
    data_dir: Storage | Path | str,
    *,
    full: bool = False,
    from_: str | None = None,
    until: str | None = None,
    sets: list[str] | None = None,
    credentials: Credentials | None = None,
    max_windows: int | None = None,
) -> dict:
    """Ask the provider (Identify) and cut the run into (set, window) units; returns the plan
    ({'run_id', 'windows': [{'index', 'set_spec', 'from', 'until', 'label'}], ...}), also saved.

    `sets` other than the configured ones make a partial run, like a date range: it never moves
    the watermark and takes no deletion census (records of the other sets are not vanished).
    `max_windows` caps the number of windows (Airflow maps at most `core.max_map_length` tasks):
    adjacent windows of a set are then joined into wider ones."""
    storage = as_storage(data_dir)
    subset = bool(sets) and tuple(sets) != tuple(source.sets)
    if subset:
        source = replace(source, sets=tuple(sets))
    state = load_state(storage, source.id)
    with OAIClient(
        source.resolved_endpoint(), source.id, source.politeness, credentials=credentials or source.env_credentials()
    ) as client:
        planned = plan_checkpoint(source, state, client.identify(), full=full, from_=from_, until=until)
    units = [(u.set_spec, u.from_, u.until or planned.watermark_after) for u in planned.units]
    if max_windows and len(units) > max_windows:
        units = join_windows(units, max_windows)
    windows = [
        {
            "index": i,
            "set_spec": s,
            "from": lo,
            "until": hi,
            "label": f"{s + ':' if s else ''}{lo or '*'}..{hi or 'now'}",
        }
        for i, (s, lo, hi) in enumerate(units)
    ]
    plan = {
        "source_id": source.id,
        "run_id": planned.run_id,
        "full": full and not subset,
        "ranged": planned.ranged or subset,
        "granularity": planned.granularity,
        "watermark_before": state.watermark,
        "watermark_after": planned.watermark_after,
        "deleted_record": planned.deleted_record,
        "earliest_datestamp": planned.earliest_datestamp,
        "started_at": planned.started_at,
        "windows": windows,
    }
    storage.write_json(_plan_file(source.id, planned.run_id), plan)
    return plan


def join_windows(units: list[tuple], limit: int) -> list[tuple]:
    """At most about `limit` (set, from, until) units: runs of adjacent windows of one set become
    one window from the first's `from` to the last's `until` (both inclusive, so nothing is lost)."""
    by_set: dict = {}
    for u in units:
        by_set.setdefault(u[0], []).append(u)
    per_set = max(1, limit // len(by_set))
    joined = []
    for set_spec, group in by_set.items():
        size = -(-len(group) // per_set)
        joined += [(set_spec, group[i][1], group[min(i + size, len(group)) - 1][2]) for i in range(0, len(group), size)]
    return joined


def load_plan(storage: Storage, source_id: str, run_id: str) -> dict:
    plan = storage.read_json(_plan_file(source_id, run_id), None)
    if plan is None:
        raise HarvestError(f"[{source_id}] no plan for run {run_id} at {storage.local(_plan_file(source_id, run_id))}")
    return plan


def harvest_window(
    source: Source,
    data_dir: Storage | Path | str,
    run_id: str,
    index: int,
    *,
    credentials: Credentials | None = None,
    chunk_rows: int = 10_000,
    parse_workers: int | None = None,
) -> RunReport:
    """Harvest window `index` of a planned run; a second call after a failure resumes from the
    window's own checkpoint (finished pages are not fetched again). `parse_workers` as for
    harvest.runs.run.run_source."""
    storage = as_storage(data_dir)
    plan = load_plan(storage, source.id, run_id)
    w = plan["windows"][index]
    # one set, one range, no census (finish_run takes the census over the whole source)
    one = replace(source, sets=(w["set_spec"],) if w["set_spec"] else (), window="none", deletion_census="never")
    state_id = _window_state_id(source.id, run_id, index)
    resume = load_state(storage, state_id).in_progress is not None  # a retry continues from its checkpoint
    # the plan's Identify answers: no Identify request per window
    identified = {
        "granularity": plan["granularity"],
        "responseDate": plan["watermark_after"],
        "deletedRecord": plan["deleted_record"],
        "earliestDatestamp": plan.get("earliest_datestamp"),
    }
    return run_source(
        one,
        storage,
        from_=None if resume else (w["from"] or None),
        until=None if resume else w["until"],
        credentials=credentials,
        chunk_rows=chunk_rows,
        run_id=window_run_id(run_id, index),
        state_id=state_id,
        reports=_window_reports(source.id),
        identified=identified,
        parse_workers=parse_workers,
    )


def finish_run(
    source: Source, data_dir: Storage | Path | str, run_id: str, *, credentials: Credentials | None = None
) -> RunReport:
    """Gather the windows' reports into the run's report; when every window is complete (and the
    run was not ranged), take the deletion census if the provider needs one, drop what a full
    re-harvest replaced and move the watermark. Written to runs/<source>/<run>.json."""
    storage = as_storage(data_dir)
    plan = load_plan(storage, source.id, run_id)
    r = RunReport(
        source.id,
        source.region,
        run_id,
        started_at=plan["started_at"],
        granularity=plan["granularity"],
        deleted_record_policy=plan["deleted_record"],
        watermark_before=plan["watermark_before"],
        watermark_after=plan["watermark_after"],
    )
    statuses = []
    for w in plan["windows"]:
        rel = f"{_window_reports(source.id)}/{window_run_id(run_id, w['index'])}.json"
        report = storage.read_json(rel, None)
        if report is None:
            statuses.append("failed")
            r.errors.append(f"window {w['label']}: did not finish (no report at {storage.local(rel)})")
            continue
        for k in SUMMED:
            setattr(r, k, getattr(r, k) + (report.get(k) or 0))
        r.wait_seconds = round(r.wait_seconds + report.get("wait_seconds", 0.0), 3)
        r.windows += [{**x, "task_window": w["label"]} for x in report.get("windows", [])]
        r.files += report.get("files", [])
        r.errors += report.get("errors", [])
        r.warnings += report.get("warnings", [])
        statuses.append(report.get("status"))
    complete = all(s == "complete" for s in statuses) and not r.errors
    if complete and not plan["ranged"] and census_wanted(source, plan["deleted_record"]):
        try:
            _census(source, storage, plan, r, credentials)
        except HarvestError as exc:
            complete = False
            r.errors.append(f"deletion census: {exc}")
    r.status = "complete" if complete else ("failed" if "failed" in statuses else "partial")
    r.files = sorted(r.files)
    r.seconds = round((datetime.now(UTC) - datetime.fromisoformat(r.started_at)).total_seconds(), 3)
    close_run(storage, source, load_state(storage, source.id), r, ranged=plan["ranged"], full=plan["full"])
    if r.status == "complete":  # the windows' checkpoints are done with (their reports stay)
        for w in plan["windows"]:
            delete_state(storage, _window_state_id(source.id, run_id, w["index"]))
    return r


def _census(source: Source, storage: Storage, plan: dict, r: RunReport, credentials: Credentials | None) -> None:
    """Tombstone what a provider without persistent deletions no longer lists (harvest.runs.census)."""
    lineage = Lineage(
        source.id,
        source.region,
        source.metadata_prefix,
        r.run_id,
        datetime.now(UTC),
        get_crosswalk(source.crosswalk_name).version,
    )
    with OAIClient(
        source.resolved_endpoint(), source.id, source.politeness, credentials=credentials or source.env_credentials()
    ) as client:
        files, tombstones = take_census(client, source, storage, lineage, plan["watermark_after"])
        r.requests += client.transfer.requests
    r.files += files
    r.census_tombstones = tombstones
    r.records += tombstones
    r.deleted += tombstones


def run_planned(source: Source, data_dir: Storage | Path | str, **kwargs) -> RunReport:
    """The steps one after another in this process (what the Airflow tasks do, for tests and tools)."""
    credentials = kwargs.pop("credentials", None)
    plan = plan_run(source, data_dir, credentials=credentials, **kwargs)
    for w in plan["windows"]:
        harvest_window(source, data_dir, plan["run_id"], w["index"], credentials=credentials)
    return finish_run(source, data_dir, plan["run_id"], credentials=credentials)
