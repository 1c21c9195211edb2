"""Date windows: a long harvest range cut into independent, idempotent pieces (pure functions).

OAI-PMH `from` and `until` are both inclusive (spec 3.3.1), so adjacent windows end one
granularity unit (a day or a second) before the next one starts: no record is listed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from harvest.oai.datestamps import DAY, format_for

SIZES = ("none", "year", "month", "day", "hour")


@dataclass(frozen=True)
class Window:
    start: datetime | None  # inclusive; None = from the beginning of the repository
    end: datetime | None  # inclusive; None = up to now

    def params(self, granularity: str) -> dict[str, str | None]:
        return {
            "from": format_for(self.start, granularity) if self.start else None,
            "until": format_for(self.end, granularity) if self.end else None,
        }


def unit(granularity: str) -> timedelta:
    return timedelta(days=1) if granularity == DAY else timedelta(seconds=1)


def floor(dt: datetime, granularity: str) -> datetime:
    """Truncate to what the repository can express (day or second)."""
    dt = dt.replace(microsecond=0)
    return dt.replace(hour=0, minute=0, second=0) if granularity == DAY else dt


def _next_boundary(dt: datetime, size: str) -> datetime:
    if size == "year":
        return dt.replace(year=dt.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if size == "month":
        y, m = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
        return dt.replace(year=y, month=m, day=1, hour=0, minute=0, second=0, microsecond=0)
    if size == "day":
        return dt.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if size == "hour":
        return dt.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    raise ValueError(f"unknown window size {size!r} (one of {', '.join(SIZES)})")


COARSER = {"hour": "day", "day": "month", "month": "year", "year": "none"}


def plan(
    start: datetime | None, end: datetime | None, size: str, granularity: str, limit: int | None = None
) -> list[Window] | None:
    """Windows covering [start, end] on calendar boundaries; one window when size is 'none' or a
    bound is unknown. An 'hour' size on a day-granularity repository becomes 'day'. None when
    there would be more than `limit` windows."""
    if size == "none" or start is None or end is None:
        return [Window(start, end)]
    if granularity == DAY and size == "hour":
        size = "day"
    start, end = floor(start, granularity), floor(end, granularity)
    if start > end:
        return []
    windows, lo = [], start
    while lo <= end:
        hi = min(_next_boundary(lo, size) - unit(granularity), end)
        windows.append(Window(lo, hi))
        if limit is not None and len(windows) > limit:
            return None
        lo = hi + unit(granularity)
    return windows


def split(window: Window, granularity: str) -> list[Window] | None:
    """Two halves of a window, or None when it cannot be cut smaller (one unit, or open-ended)."""
    if window.start is None or window.end is None:
        return None
    step = unit(granularity)
    span_units = int((window.end - window.start) / step)
    if span_units < 1:
        return None
    mid = window.start + step * (span_units // 2)
    return [Window(window.start, mid), Window(mid + step, window.end)]
