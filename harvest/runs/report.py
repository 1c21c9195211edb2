"""The report of a harvest run, written to runs/<source>/<run>.json: what a run did, for operators
and for the dashboard."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RunReport:
    source_id: str
    region: str
    run_id: str
    status: str = "running"  # complete | partial | failed
    resumed: bool = False
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    pages: int = 0
    records: int = 0  # rows written to the records table (incl. tombstones)
    deleted: int = 0
    quarantined: int = 0
    census_tombstones: int = 0
    requests: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    illegal_chars_removed: int = 0
    granularity: str | None = None
    deleted_record_policy: str | None = None
    watermark_before: str | None = None
    watermark_after: str | None = None
    windows: list[dict] = field(default_factory=list)
    validation: dict = field(default_factory=dict)  # fill rates and quarantine reasons (harvest.store.fills)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[RunReport, float], None]  # (report so far, seconds since the run began)


def report_file(source_id: str, run_id: str, reports: str | None = None) -> str:
    """Where a run's report lives in the data folder (`reports`: another folder, for windows)."""
    return f"{reports or f'runs/{source_id}'}/{run_id}.json"
