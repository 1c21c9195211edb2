"""The end of a run, however it ran (one process, or planned windows): the watermark moves only
for a complete unranged run, a complete full re-harvest replaces what came before, the validation
report is taken and the run's report written."""

from __future__ import annotations

from harvest.config import Source
from harvest.runs.report import RunReport, report_file, utc_now
from harvest.store.datasets import committed_files
from harvest.store.fills import validation_report
from harvest.store.state import SourceState, save_state
from harvest.store.storage import Storage


def close_run(
    storage: Storage,
    source: Source,
    state: SourceState,
    report: RunReport,
    *,
    ranged: bool,
    full: bool,
    known_fills: dict | None = None,
    reports: str | None = None,
) -> RunReport:
    """Record the run's outcome (`report.status` set by the caller) in the source's state and its
    report; `known_fills`: fill counts of records files written in this process (not read again)."""
    if report.status == "complete" and not ranged:
        if full:
            replace_earlier_files(storage, source.id, report.files)
        state.watermark, state.granularity = report.watermark_after, report.granularity
    state.last_run_id, state.last_status = report.run_id, report.status
    save_state(storage, state)
    if report.status != "failed":
        report.validation = validation_report(storage, report.files, known_fills)
    report.finished_at = utc_now()
    storage.write_json(report_file(source.id, report.run_id, reports), report.as_dict())
    return report


def replace_earlier_files(storage: Storage, source_id: str, keep: list[str]) -> None:
    """A complete full re-harvest replaces what came before: remove the source's records and raw
    files that the run (files `keep`) did not write."""
    mine = set(keep)
    for table in ("records", "raw"):
        for rel in committed_files(storage, table, source_id):
            if rel not in mine:
                storage.delete(rel)
