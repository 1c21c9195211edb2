"""Harvest one source end to end: Identify → ListRecords pages → crosswalk → Parquet, with a run report.

A run either completes (files committed, watermark advanced), ends partial (an unreadable page is
quarantined with its URL and reason) or fails (the error names source, URL and reason). Partial and
failed runs still commit what they read, but keep the old watermark, so the next run reads the
rest again. A run never stops silently half-way.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from harvest.config import Source
from harvest.crosswalk import get_crosswalk
from harvest.errors import HarvestError, PageError
from harvest.oai import OAIClient, list_pages
from harvest.records import Lineage, map_record, quarantine_row
from harvest.state import SourceState, load_state, save_state, write_json_atomic
from harvest.store import PartitionWriter, committed_files


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


@dataclass
class ListReport:
    """One list request (a set, or the whole repository) within a run."""

    set_spec: str | None
    from_: str | None
    until: str | None
    pages: int = 0
    records: int = 0
    complete_list_size: int | None = None


@dataclass
class RunReport:
    source_id: str
    region: str
    run_id: str
    status: str = "running"                # complete | partial | failed
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    pages: int = 0
    records: int = 0                       # rows written to the records table (incl. tombstones)
    deleted: int = 0
    quarantined: int = 0
    requests: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    illegal_chars_removed: int = 0
    granularity: str | None = None
    watermark_before: str | None = None
    watermark_after: str | None = None
    lists: list[ListReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[RunReport, float], None]  # (report so far, seconds since the run began)


class _Run:
    """The mutable parts of one run: writers, counters and the client."""

    def __init__(self, source: Source, data_dir: Path, run_id: str, progress: Progress | None):
        self.source, self.data_dir, self.progress = source, Path(data_dir), progress
        self.t0 = time.monotonic()
        now = datetime.now(timezone.utc)
        self.report = RunReport(source.id, source.region, run_id, started_at=now.isoformat())
        self.crosswalk = get_crosswalk(source.crosswalk_name)
        self.lineage = Lineage(source.id, source.region, source.metadata_prefix, run_id, now,
                               self.crosswalk.version)
        self.writers = {t: PartitionWriter(self.data_dir, t, source.region, source.id, run_id)
                        for t in ("records", "raw", "quarantine")}
        self.client = OAIClient(source.resolved_endpoint(), source.id, source.politeness)

    def consume(self, page, lst: ListReport) -> None:
        r = self.report
        lst.pages += 1
        r.pages += 1
        lst.complete_list_size = page.complete_list_size or lst.complete_list_size
        for record in page.items:
            out = map_record(record, self.crosswalk, self.lineage, page.url)
            lst.records += 1
            if out.row is not None:
                self.writers["records"].add(out.row)
                self.writers["raw"].add(out.raw)
                r.records += 1
                r.deleted += out.deleted
            if out.quarantine is not None:
                self.writers["quarantine"].add(out.quarantine)
                r.quarantined += 1
        if self.progress:
            self.progress(r, time.monotonic() - self.t0)

    def quarantine_page(self, exc: PageError) -> None:
        self.writers["quarantine"].add(
            quarantine_row(self.lineage, exc.url, None, exc.reason, exc.detail, None))
        self.report.quarantined += 1


def run_source(source: Source, data_dir: Path, *, full: bool = False, from_: str | None = None,
               until: str | None = None, progress: Progress | None = None,
               run_id: str | None = None) -> RunReport:
    """Harvest one source into data_dir; returns the run report (also written under runs/)."""
    run = _Run(source, data_dir, run_id or new_run_id(), progress)
    report = run.report
    state = load_state(run.data_dir, source.id)
    report.watermark_before = state.watermark
    try:
        with run.client:
            _harvest(run, state, full=full, from_=from_, until=until)
    except HarvestError as exc:
        report.status = "failed"
        report.errors.append(str(exc))
    finally:
        t = run.client.transfer
        report.requests, report.retries, report.bytes = t.requests, t.retries, t.bytes
        report.wait_seconds, report.illegal_chars_removed = round(t.wait_seconds, 3), t.illegal_chars_removed
        report.warnings += t.events
        _finish(run, state, full=full, ranged=bool(from_ or until))
        report.seconds = round(time.monotonic() - run.t0, 3)
        report.finished_at = datetime.now(timezone.utc).isoformat()
        write_json_atomic(run.data_dir / "runs" / source.id / f"{report.run_id}.json", report.as_dict())
    return report


def _harvest(run: _Run, state: SourceState, *, full: bool, from_: str | None, until: str | None) -> None:
    source, report = run.source, run.report
    info = run.client.identify()
    granularity = info.get("granularity") or "YYYY-MM-DD"
    report.granularity = granularity
    report.watermark_after = info.get("responseDate")
    start = from_ if (from_ or full) else state.next_from(granularity)
    for set_spec in source.sets or (None,):
        lst = ListReport(set_spec, start, until)
        report.lists.append(lst)
        params = {"metadataPrefix": source.metadata_prefix, "set": set_spec, "from": start, "until": until}
        try:
            for page in list_pages(run.client, "ListRecords", params):
                run.consume(page, lst)
        except PageError as exc:
            run.quarantine_page(exc)
            report.status = "partial"
            report.errors.append(str(exc))
            continue
        if lst.complete_list_size and lst.records < lst.complete_list_size:
            report.warnings.append(f"set {set_spec or '(all)'}: completeListSize {lst.complete_list_size} "
                                   f"but {lst.records} records harvested")
    if report.status == "running":
        report.status = "complete"


def _finish(run: _Run, state: SourceState, *, full: bool, ranged: bool) -> None:
    """Commit what was read (even by a failed run: nothing is lost, consolidation de-duplicates) and
    advance the watermark only after a complete, unranged harvest."""
    report = run.report
    old = committed_files(run.data_dir, "records", run.source.id) + committed_files(run.data_dir, "raw", run.source.id)
    for w in run.writers.values():
        path = w.commit()
        if path:
            report.files.append(str(path.relative_to(run.data_dir)))
    if report.status == "complete" and not ranged:
        if full:  # a full re-harvest replaces what came before
            for path in old:
                path.unlink(missing_ok=True)
        state.watermark, state.granularity = report.watermark_after, report.granularity
    state.last_run_id, state.last_status = report.run_id, report.status
    save_state(run.data_dir, state)
