"""Planning a run: Identify's answers and the source's watermark → the (set × date window) units
to list. The one planner behind `harvest run` and Airflow's `plan_windows`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harvest.config import Source
from harvest.oai.datestamps import DAY, format_for, parse_utc, untrusted
from harvest.oai.windows import COARSER, Window, split
from harvest.oai.windows import plan as plan_windows
from harvest.runs.checkpoint import Checkpoint, Unit
from harvest.runs.report import new_run_id, utc_now
from harvest.store.state import SourceState

# more windows than this (a long history in small windows) and the run uses larger ones
MAX_WINDOWS = 2000


def plan_run(
    source: Source,
    state: SourceState,
    identified: dict,
    *,
    full: bool = False,
    from_: str | None = None,
    until: str | None = None,
    run_id: str | None = None,
) -> Checkpoint:
    """A new run's checkpoint. Incremental from the watermark (minus an overlap) unless `full` or a
    range is given; up to the server's responseDate. `identified`: Identify's fields
    (granularity, responseDate, deletedRecord, earliestDatestamp)."""
    g = identified.get("granularity") or DAY
    clock = datetime.now(UTC)
    warnings: list[str] = []
    now = identified.get("responseDate")
    if (why := untrusted(now, clock)) is not None:  # it becomes the watermark: never a bad one
        now = format_for(clock, "seconds")
        warnings.append(
            f"[{source.id}] Identify's responseDate {_shown(identified.get('responseDate'))} is {why}: "
            f"the watermark of this run is our own clock, {now}"
        )
    earliest = identified.get("earliestDatestamp")
    if earliest and (why := untrusted(earliest, clock)) is not None:
        warnings.append(
            f"[{source.id}] Identify's earliestDatestamp {_shown(earliest)} is {why}: ignored "
            "(a first harvest lists from the beginning without a `from`)"
        )
        earliest = None
    watermark_from = None
    if not (from_ or full) and state.watermark:
        if (why := untrusted(state.watermark, clock)) is None:
            watermark_from = state.next_from(g)
        else:
            warnings.append(
                f"[{source.id}] the stored watermark {_shown(state.watermark)} is {why}: harvesting from the beginning"
            )
    start = from_ if (from_ or full) else watermark_from
    start = start or earliest
    lo, hi = to_utc(start), to_utc(until or now, end_of_day=True)
    size = source.window
    while (windows := plan_windows(lo, hi, size, g, limit=MAX_WINDOWS)) is None:
        size = COARSER[size]  # 'none' always plans one window
    if size != source.window:
        what = "one window" if size == "none" else f"{size} windows"
        warnings.append(
            f"[{source.id}] {source.window} windows from {start} would be more than {MAX_WINDOWS}: this run uses {what}"
        )
    if windows and not from_ and (full or watermark_from is None):
        # a first or full harvest also takes records stamped before earliestDatestamp
        windows[0] = Window(None, windows[0].end)
    units = [Unit(s, *w.params(g).values()) for s in (source.sets or (None,)) for w in windows]
    return Checkpoint(
        run_id or new_run_id(),
        source.metadata_prefix,
        utc_now(),
        g,
        now,
        deleted_record=identified.get("deletedRecord"),
        earliest_datestamp=identified.get("earliestDatestamp"),
        full=full,
        ranged=bool(from_ or until),
        units=units,
        warnings=warnings,
    )


def _shown(value: str | None) -> str:
    """A partner's value in a message: quoted, and cut short (it is data, and may be anything)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def halves(unit: Unit, granularity: str) -> list[Unit] | None:
    """A unit's window cut in two (metha's answer to an expired token), or None when it cannot be."""
    if not (unit.from_ and unit.until):
        return None
    parts = split(Window(to_utc(unit.from_), to_utc(unit.until)), granularity)
    if parts is None:
        return None
    return [Unit(unit.set_spec, *w.params(granularity).values(), attempts=unit.attempts + 1) for w in parts]


def to_utc(value: str | None, end_of_day: bool = False) -> datetime | None:
    """A datestamp argument as UTC; a day-only `until` means the whole day (spec 3.3.1: inclusive)."""
    if not value:
        return None
    try:
        dt = parse_utc(value)
    except ValueError:
        return None
    return dt + timedelta(days=1, seconds=-1) if end_of_day and len(value.strip()) == 10 else dt
