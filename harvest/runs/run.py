"""Harvest one source: resume its unfinished run or plan a new one, list every unit, take the
deletion census where the provider needs one, and close the run.

A run ends `complete` (watermark advanced), `partial` (some pages or windows could not be read:
they are quarantined with URL and reason; the watermark stays so the next run covers them again)
or `failed` (the error names source, URL and reason; the checkpoint stays, and the next run
resumes from it). A run never stops silently half-way, and a run killed at any moment (even
SIGKILL) resumes with every record exactly once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from harvest.clock import REAL, Clock
from harvest.config import Credentials, Source
from harvest.crosswalk import get_crosswalk
from harvest.errors import HarvestError
from harvest.oai import OAIClient
from harvest.records.rows import Lineage
from harvest.runs.census import census_wanted, take_census
from harvest.runs.checkpoint import Checkpoint, Transferred
from harvest.runs.finish import close_run
from harvest.runs.harvest import Harvester, Mapper
from harvest.runs.parts import PartSpec
from harvest.runs.plan import plan_run
from harvest.runs.pool import default_parse_workers, parse_pool
from harvest.runs.report import Progress, RunReport, new_run_id, utc_now
from harvest.store.datasets import run_files
from harvest.store.state import SourceState, load_state, save_state, state_file
from harvest.store.storage import Storage, as_storage


def run_source(
    source: Source,
    data_dir: Storage | Path | str,
    *,
    full: bool = False,
    from_: str | None = None,
    until: str | None = None,
    restart: bool = False,
    progress: Progress | None = None,
    clock: Clock = REAL,
    chunk_rows: int = 10_000,
    credentials: Credentials | None = None,
    parse_workers: int | None = None,
    run_id: str | None = None,
    state_id: str | None = None,
    reports: str | None = None,
    identified: dict | None = None,
) -> RunReport:
    """Harvest one source into the data folder, resuming an interrupted run unless told otherwise;
    returns the run report, also written to runs/<source>/<run_id>.json.

    `credentials` override the source's credentials_env. `parse_workers`: None for the process's
    shared parse workers (harvest.runs.pool), 0 to map in this process. A planned run's window
    (harvest.runs.planned) runs as a harvest of its own: `run_id`, `state_id` and `reports` keep
    its files, checkpoint and report apart, and `identified` gives the plan's Identify answers."""
    storage = as_storage(data_dir)
    crosswalk = get_crosswalk(source.crosswalk_name)
    state_id = state_id or source.id
    state = load_state(storage, state_id)
    workers = default_parse_workers() if parse_workers is None else parse_workers
    pool = parse_pool(workers) if workers else None  # the workers start while Identify is asked
    t0 = time.monotonic()
    with OAIClient(
        source.resolved_endpoint(),
        source.id,
        source.politeness,
        clock=clock,
        credentials=credentials or source.env_credentials(),
    ) as client:
        try:
            checkpoint, resumed = _start(
                source,
                storage,
                state,
                client,
                state_id,
                full=full,
                from_=from_,
                until=until,
                restart=restart,
                identified=identified,
                run_id=run_id,
            )
        except HarvestError as exc:  # not even a plan (e.g. Identify failed): nothing to resume
            return _unplanned(source, storage, state, client, exc, run_id, reports, t0)
        report = RunReport(
            source.id,
            source.region,
            checkpoint.run_id,
            resumed=resumed,
            started_at=checkpoint.started_at,
            granularity=checkpoint.granularity,
            deleted_record_policy=checkpoint.deleted_record,
            watermark_before=state.watermark,
            watermark_after=checkpoint.watermark_after,
        )
        lineage = Lineage(
            source.id, source.region, source.metadata_prefix, checkpoint.run_id, datetime.now(UTC), crosswalk.version
        )

        def save() -> None:
            checkpoint.next_chunk = harvester.next_seq
            state.in_progress = checkpoint.to_dict()
            save_state(storage, state)

        def tick() -> None:
            if progress is not None:
                _count(report, harvester.totals())
                progress(report, time.monotonic() - t0)

        harvester = Harvester(
            source,
            storage,
            checkpoint,
            client,
            Mapper(PartSpec(source.id, source.region, source.crosswalk_name, lineage, storage), pool),
            save,
            chunk_rows=chunk_rows,
            progress=tick,
        )
        save()
        failure = None
        try:
            harvester.run()
            if (
                checkpoint.units
                and checkpoint.all_done()
                and not checkpoint.ranged
                and census_wanted(source, checkpoint.deleted_record)
            ):
                files, report.census_tombstones = take_census(
                    client, source, storage, lineage, checkpoint.watermark_after
                )
                last = checkpoint.units[-1]
                last.chunks += files
                last.records += report.census_tombstones
                last.deleted += report.census_tombstones
                save()
        except HarvestError as exc:
            failure = exc
            harvester.abort()  # uncommitted pages are fetched again when the run resumes
        return _close(source, storage, state, checkpoint, harvester, client, report, failure, reports, t0)


def _start(
    source: Source,
    storage: Storage,
    state: SourceState,
    client: OAIClient,
    state_id: str,
    *,
    full: bool,
    from_: str | None,
    until: str | None,
    restart: bool,
    identified: dict | None,
    run_id: str | None,
) -> tuple[Checkpoint, bool]:
    """The checkpoint of the interrupted run, or a new plan; files of the run that no checkpoint
    names (renamed into place just before a kill) are removed, as their pages are fetched again."""
    saved = state.in_progress
    if saved and not (full or from_ or until or restart) and saved.get("metadata_prefix") == source.metadata_prefix:
        checkpoint, resumed = Checkpoint.from_dict(saved, f"[{source.id}] {state_file(state_id)}"), True
        for unit in checkpoint.units:
            if unit.status == "active" and unit.token is None:  # no token to continue from: start it over
                for rel in unit.restart():
                    storage.delete(rel)
                unit.status = "pending"
    else:
        info = identified if identified is not None else client.identify()
        checkpoint, resumed = plan_run(source, state, info, full=full, from_=from_, until=until, run_id=run_id), False
    known = set(checkpoint.files)
    for rel in run_files(storage, source.id, checkpoint.run_id, include_temporary=True):
        if rel not in known:
            storage.delete(rel)
    return checkpoint, resumed


def _count(report: RunReport, totals: dict[str, int]) -> None:
    for name, value in totals.items():
        setattr(report, name, value)


def _close(
    source: Source,
    storage: Storage,
    state: SourceState,
    checkpoint: Checkpoint,
    harvester: Harvester,
    client: OAIClient,
    report: RunReport,
    failure: HarvestError | None,
    reports: str | None,
    t0: float,
) -> RunReport:
    _count(report, harvester.totals())
    before, t = checkpoint.transferred, client.transfer
    report.requests, report.retries = before.requests + t.requests, before.retries + t.retries
    report.bytes, report.wait_seconds = before.bytes + t.bytes, round(before.wait_seconds + t.wait_seconds, 3)
    report.illegal_chars_removed = t.illegal_chars_removed
    report.errors, report.warnings = list(checkpoint.errors), checkpoint.warnings + t.events
    report.windows = [u.report() for u in checkpoint.units]
    report.files = checkpoint.files
    if failure is not None:
        report.status = "failed"
        checkpoint.errors = list(report.errors)  # what the resumed run still owns
        checkpoint.warnings = report.warnings + [f"an earlier attempt failed: {failure}"]
        report.errors.append(f"{failure} — the next run resumes from the checkpoint")
        checkpoint.transferred = Transferred(report.requests, report.retries, report.bytes, report.wait_seconds)
        checkpoint.next_chunk = harvester.next_seq
        state.in_progress = checkpoint.to_dict()
    else:
        report.status = "complete" if checkpoint.all_done() and not report.errors else "partial"
        state.in_progress = None
    report.seconds = round(time.monotonic() - t0, 3)
    return close_run(
        storage,
        source,
        state,
        report,
        ranged=checkpoint.ranged,
        full=checkpoint.full,
        known_fills=harvester.fills,
        reports=reports,
    )


def _unplanned(
    source: Source,
    storage: Storage,
    state: SourceState,
    client: OAIClient,
    exc: HarvestError,
    run_id: str | None,
    reports: str | None,
    t0: float,
) -> RunReport:
    t = client.transfer
    report = RunReport(
        source.id,
        source.region,
        run_id or new_run_id(),
        status="failed",
        started_at=utc_now(),
        errors=[str(exc)],
        watermark_before=state.watermark,
        requests=t.requests,
        retries=t.retries,
        wait_seconds=round(t.wait_seconds, 3),
        warnings=list(t.events),
    )
    report.seconds = round(time.monotonic() - t0, 3)
    return close_run(storage, source, state, report, ranged=True, full=False, reports=reports)
