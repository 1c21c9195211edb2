"""Date windows are pure functions: cover the range exactly, never overlap, split down to a unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harvest.oai.windows import Window, plan, split, unit

UTC = UTC
SEC, DAY = "YYYY-MM-DDThh:mm:ssZ", "YYYY-MM-DD"


def covers_exactly(windows, start, end, granularity):
    assert windows[0].start == start and windows[-1].end == end
    for a, b in zip(windows, windows[1:]):
        assert b.start == a.end + unit(granularity)  # contiguous, no overlap (inclusive bounds)
    assert all(w.start <= w.end for w in windows)


@pytest.mark.parametrize(
    "size, granularity, count",
    [
        ("year", SEC, 3),
        ("month", SEC, 26),
        ("month", DAY, 26),
        ("day", DAY, 761),
        ("none", SEC, 1),
    ],
)
def test_plan_covers_the_range(size, granularity, count):
    start = datetime(2020, 3, 15, tzinfo=UTC)
    end = datetime(2022, 4, 14, tzinfo=UTC)
    windows = plan(start, end, size, granularity)
    assert len(windows) == count
    covers_exactly(windows, start, end, granularity)


def test_month_windows_on_calendar_boundaries_in_repository_terms():
    windows = plan(datetime(2024, 1, 20, 13, 5, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC), "month", SEC)
    assert [w.params(SEC) for w in windows] == [
        {"from": "2024-01-20T13:05:00Z", "until": "2024-01-31T23:59:59Z"},
        {"from": "2024-02-01T00:00:00Z", "until": "2024-02-29T23:59:59Z"},
        {"from": "2024-03-01T00:00:00Z", "until": "2024-03-02T00:00:00Z"},
    ]
    day = plan(datetime(2024, 1, 20, 13, 5, tzinfo=UTC), datetime(2024, 3, 2, 8, tzinfo=UTC), "month", DAY)
    assert day[0].params(DAY) == {"from": "2024-01-20", "until": "2024-01-31"}
    assert day[-1].params(DAY) == {"from": "2024-03-01", "until": "2024-03-02"}


def test_hour_windows_fall_back_to_days_on_day_granularity():
    windows = plan(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, 23, tzinfo=UTC), "hour", DAY)
    assert len(windows) == 3


def test_open_ranges_are_one_window():
    assert plan(None, datetime(2024, 1, 1, tzinfo=UTC), "month", SEC) == [
        Window(None, datetime(2024, 1, 1, tzinfo=UTC))
    ]


@pytest.mark.parametrize("granularity", [SEC, DAY])
def test_split_halves_until_one_unit(granularity):
    w = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 9, tzinfo=UTC))
    halves = split(w, granularity)
    covers_exactly(halves, w.start, w.end, granularity)
    steps = 0
    while w is not None and split(w, granularity):
        w = split(w, granularity)[0]
        steps += 1
    assert w.end == w.start and steps < 40
    assert split(Window(None, w.end), granularity) is None


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="unknown window size"):
        plan(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), "fortnight", SEC)
