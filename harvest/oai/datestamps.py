"""OAI-PMH datestamps: read any UTC datestamp, write one in a repository's granularity (spec 3.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY = "YYYY-MM-DD"
# a partner's dates are data, not trusted: none before this, none later than our clock by more
# than MAX_SKEW (a server clock a few minutes fast is common; one a year fast is a fault)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
MAX_SKEW = timedelta(minutes=15)


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


def untrusted(value: str | None, now: datetime) -> str | None:
    """Why a date a partner sent cannot be used (None when it can): not a date, before 1900, or
    later than `now` (our clock) by more than MAX_SKEW."""
    try:
        dt = parse_utc(value or "")
    except (ValueError, OverflowError):
        return "not a date"
    if dt < EARLIEST:
        return f"before {EARLIEST.year}"
    if dt > now + MAX_SKEW:
        return f"later than our clock ({format_for(now, 'seconds')}) by more than {MAX_SKEW}"
    return None
