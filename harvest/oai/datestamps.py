"""OAI-PMH datestamps: read any UTC datestamp, write one in a repository's granularity (spec 3.3)."""

from __future__ import annotations

from datetime import UTC, datetime

DAY = "YYYY-MM-DD"


def parse_utc(value: str) -> datetime:
    """'2024-05-01' or '2024-05-01T10:00:00Z' → aware UTC datetime."""
    dt = datetime.fromisoformat(value.strip())
    tz = dt.tzinfo
    if tz is UTC:  # '...Z', the usual OAI-PMH datestamp: already what we want
        return dt
    return dt.replace(tzinfo=UTC) if tz is None else dt.astimezone(UTC)


def format_for(dt: datetime, granularity: str) -> str:
    """A datestamp in the repository's granularity (spec 3.3.2)."""
    return dt.strftime("%Y-%m-%d") if granularity == DAY else dt.strftime("%Y-%m-%dT%H:%M:%SZ")
