"""The planner: Identify's answers and the watermark → units; a long history in small windows is
planned in larger ones, with a warning, never as tens of thousands of windows."""

from __future__ import annotations

from harvest.config.sources import Source
from harvest.runs.plan import MAX_WINDOWS, plan_run
from harvest.store.state import SourceState


def src(window: str) -> Source:
    return Source(
        id="p1", name="P", region="europe", endpoint="http://127.0.0.1:1/oai", metadata_prefix="oai_dc", window=window
    )


def identified(earliest: str, granularity: str = "YYYY-MM-DDThh:mm:ssZ") -> dict:
    return {"granularity": granularity, "responseDate": "2026-12-08T00:00:00Z", "earliestDatestamp": earliest}


def test_windows_of_the_configured_size_when_there_are_few():
    cp = plan_run(src("month"), SourceState("p1"), identified("2025-01-15T00:00:00Z"))
    assert len(cp.units) == 24 and cp.warnings == []
    assert cp.units[1].from_ == "2025-02-01T00:00:00Z" and cp.units[0].until == "2025-01-31T23:59:59Z"


def test_a_long_history_in_small_windows_is_planned_in_larger_ones_with_a_warning():
    cp = plan_run(src("hour"), SourceState("p1"), identified("1950-01-01T00:00:00Z"))
    assert 0 < len(cp.units) <= MAX_WINDOWS  # hours (~670 k) and days (~28 k) are too many: months
    assert cp.units[1].from_ == "1950-02-01T00:00:00Z"
    assert any("hour windows" in w and "month windows" in w and "p1" in w for w in cp.warnings), cp.warnings


def test_an_earliest_datestamp_of_year_one_is_ignored_not_planned():
    cp = plan_run(src("day"), SourceState("p1"), identified("0001-01-01T00:00:00Z"))
    assert len(cp.units) == 1 and cp.units[0].from_ is None  # one open window from the beginning
    assert any("earliestDatestamp '0001-01-01T00:00:00Z' is before 1900" in w for w in cp.warnings), cp.warnings
