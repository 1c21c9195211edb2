"""A harvest run split into steps an orchestrator can run as separate tasks: plan the windows,
harvest each window (in parallel, each resumable on its own), then finish the run.

`harvest run` drives the same steps in one process (harvest.pipeline.run_source); Airflow maps one
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

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from harvest.config.sources import Source
from harvest.crosswalk import get_crosswalk
from harvest.errors import HarvestError
from harvest.oai import OAIClient
from harvest.runs.pipeline import Harvest, RunReport, census_wanted, replace_earlier_files
from harvest.records.rows import Lineage
from harvest.store.state import load_state, save_state, state_path, write_json_atomic
from harvest.store.writers import ChunkWriter

SUMMED = ("pages", "records", "deleted", "quarantined", "requests", "retries", "bytes", "illegal_chars_removed")


def _plan_path(data_dir: Path, source_id: str, run_id: str) -> Path:
    return Path(data_dir) / "state" / "windows" / source_id / f"{run_id}.plan.json"


def window_run_id(run_id: str, index: int) -> str:
    return f"{run_id}-w{index:03d}"


def _window_state_id(source_id: str, run_id: str, index: int) -> str:
    return f"windows/{source_id}/{window_run_id(run_id, index)}"


def _window_reports(data_dir: Path, source_id: str) -> Path:
    return Path(data_dir) / "runs" / source_id / "windows"


def plan_run(source: Source, data_dir: Path, *, full: bool = False, from_: str | None = None,
             until: str | None = None, sets: list[str] | None = None, credentials=None,
             max_windows: int | None = None) -> dict:
    """Ask the provider (Identify) and cut the run into (set, window) units; returns the plan
    ({'run_id', 'windows': [{'index', 'set_spec', 'from', 'until', 'label'}], ...}), also saved.

    `sets` other than the configured ones make a partial run, like a date range: it never moves
    the watermark and takes no deletion census (records of the other sets are not vanished).
    `max_windows` caps the number of windows (Airflow maps at most `core.max_map_length` tasks):
    adjacent windows of a set are then joined into wider ones."""
    subset = bool(sets) and tuple(sets) != tuple(source.sets)
    if subset:
        source = replace(source, sets=tuple(sets))
    h = Harvest(source, data_dir, credentials=credentials, parse_workers=0)   # only Identify here
    with h.client:
        h._plan(full=full, from_=from_, until=until)
    ctx, run_id = h.ctx, h.report.run_id
    units = [(u.set_spec, u.from_, u.until or ctx["watermark_after"]) for u in h.units]
    if max_windows and len(units) > max_windows:
        units = join_windows(units, max_windows)
    windows = [{"index": i, "set_spec": s, "from": lo, "until": hi,
                "label": f"{s + ':' if s else ''}{lo or '*'}..{hi or 'now'}"} for i, (s, lo, hi) in enumerate(units)]
    plan = {"source_id": source.id, "run_id": run_id, "full": full and not subset,
            "ranged": bool(from_ or until) or subset, "granularity": ctx["granularity"],
            "watermark_before": h.state.watermark, "watermark_after": ctx["watermark_after"],
            "deleted_record": ctx["deleted_record"], "earliest_datestamp": ctx.get("earliest_datestamp"),
            "started_at": ctx["started_at"], "windows": windows}
    write_json_atomic(_plan_path(data_dir, source.id, run_id), plan)
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


def load_plan(data_dir: Path, source_id: str, run_id: str) -> dict:
    path = _plan_path(data_dir, source_id, run_id)
    if not path.exists():
        raise HarvestError(f"[{source_id}] no plan for run {run_id} at {path}")
    return json.loads(path.read_text())


def harvest_window(source: Source, data_dir: Path, run_id: str, index: int, *, credentials=None,
                   chunk_rows: int = 10_000) -> RunReport:
    """Harvest window `index` of a planned run; a second call after a failure resumes from the
    window's own checkpoint (finished pages are not fetched again)."""
    plan = load_plan(data_dir, source.id, run_id)
    w = plan["windows"][index]
    # one set, one range, no census (finish_run takes the census over the whole source)
    one = replace(source, sets=(w["set_spec"],) if w["set_spec"] else (), window="none", deletion_census="never")
    state_id = _window_state_id(source.id, run_id, index)
    h = Harvest(one, data_dir, credentials=credentials, chunk_rows=chunk_rows, state_id=state_id,
                run_id=window_run_id(run_id, index), reports_dir=_window_reports(data_dir, source.id))
    resume = h.state.in_progress is not None   # a retry continues from the window's own checkpoint
    # the plan's Identify answers: no Identify request per window
    identified = {"granularity": plan["granularity"], "responseDate": plan["watermark_after"],
                  "deletedRecord": plan["deleted_record"], "earliestDatestamp": plan.get("earliest_datestamp")}
    return h.execute(from_=None if resume else (w["from"] or None), until=None if resume else w["until"],
                     identified=identified)


def finish_run(source: Source, data_dir: Path, run_id: str, *, credentials=None) -> RunReport:
    """Gather the windows' reports into the run's report; when every window is complete (and the
    run was not ranged), take the deletion census if the provider needs one, drop what a full
    re-harvest replaced and move the watermark. Written to runs/<source>/<run>.json."""
    data_dir = Path(data_dir)
    plan = load_plan(data_dir, source.id, run_id)
    r = RunReport(source.id, source.region, run_id, started_at=plan["started_at"],
                  granularity=plan["granularity"], deleted_record_policy=plan["deleted_record"],
                  watermark_before=plan["watermark_before"], watermark_after=plan["watermark_after"])
    statuses = []
    for w in plan["windows"]:
        path = _window_reports(data_dir, source.id) / f"{window_run_id(run_id, w['index'])}.json"
        if not path.exists():
            statuses.append("failed")
            r.errors.append(f"window {w['label']}: did not finish (no report at {path})")
            continue
        report = json.loads(path.read_text())
        for k in SUMMED:
            setattr(r, k, getattr(r, k) + (report.get(k) or 0))
        r.wait_seconds = round(r.wait_seconds + report.get("wait_seconds", 0.0), 3)
        r.windows += [{**x, "task_window": w["label"]} for x in report.get("windows", [])]
        r.files += report.get("files", [])
        r.errors += report.get("errors", [])
        r.warnings += report.get("warnings", [])
        statuses.append(report.get("status"))
    failed = "failed" in statuses
    complete = all(s == "complete" for s in statuses) and not r.errors
    if complete and not plan["ranged"]:
        try:
            _census(source, data_dir, plan, r, credentials)
        except HarvestError as exc:
            complete = False
            r.errors.append(f"deletion census: {exc}")
    r.status = "complete" if complete else ("failed" if failed else "partial")
    state = load_state(data_dir, source.id)
    if complete and not plan["ranged"]:
        if plan["full"]:
            replace_earlier_files(data_dir, source.id, r.files)
        state.watermark, state.granularity = plan["watermark_after"], plan["granularity"]
    state.last_run_id, state.last_status = run_id, r.status
    save_state(data_dir, state)
    r.files = sorted(r.files)
    if r.status != "failed":
        from harvest.store.fills import validation_report

        r.validation = validation_report(data_dir, r.files)
    r.finished_at = datetime.now(timezone.utc).isoformat()
    r.seconds = round((datetime.fromisoformat(r.finished_at) - datetime.fromisoformat(r.started_at)).total_seconds(), 3)
    write_json_atomic(data_dir / "runs" / source.id / f"{run_id}.json", r.as_dict())
    if r.status == "complete":
        _clean_up(data_dir, source.id, run_id, len(plan["windows"]))
    return r


def _census(source: Source, data_dir: Path, plan: dict, r: RunReport, credentials) -> None:
    """Tombstone what a provider without persistent deletions no longer lists (harvest.census)."""
    if not census_wanted(source, plan["deleted_record"]):
        return
    from harvest.runs.census import tombstones_for_vanished

    crosswalk = get_crosswalk(source.crosswalk_name)
    census_run = f"{r.run_id}-census"
    lineage = Lineage(source.id, source.region, source.metadata_prefix, census_run, datetime.now(timezone.utc),
                      crosswalk.version)
    with OAIClient(source.resolved_endpoint(), source.id, source.politeness,
                   credentials=credentials or source.env_credentials()) as client:
        rows = tombstones_for_vanished(client, source, data_dir, lineage, plan["watermark_after"])
        r.requests += client.transfer.requests
    writer = ChunkWriter(data_dir, source.region, source.id, census_run)
    for row in rows:
        writer.add("records", row)
    r.files += writer.commit()
    r.census_tombstones = len(rows)
    r.records += len(rows)
    r.deleted += len(rows)


def _clean_up(data_dir: Path, source_id: str, run_id: str, windows: int) -> None:
    """A finished run no longer needs its windows' checkpoints (their reports stay)."""
    for i in range(windows):
        state_path(data_dir, _window_state_id(source_id, run_id, i)).unlink(missing_ok=True)


def run_planned(source: Source, data_dir: Path, **kwargs) -> RunReport:
    """The steps one after another in this process (what the Airflow tasks do, for tests and tools)."""
    credentials = kwargs.pop("credentials", None)
    plan = plan_run(source, data_dir, credentials=credentials, **kwargs)
    for w in plan["windows"]:
        harvest_window(source, data_dir, plan["run_id"], w["index"], credentials=credentials)
    return finish_run(source, data_dir, plan["run_id"], credentials=credentials)
