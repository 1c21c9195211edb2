"""A partner's dates are data: `untrusted` says why one cannot be used, at the rules' edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harvest.oai.datestamps import MAX_SKEW, format_for, untrusted

NOW = datetime(2026, 12, 8, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, why",
    [
        ("2026-12-08T12:00:00Z", None),
        ("2026-12-08", None),
        (format_for(NOW + MAX_SKEW, "seconds"), None),  # a server clock a little fast
        (format_for(NOW + MAX_SKEW + timedelta(seconds=1), "seconds"), "later than our clock"),
        ("1900-01-01T00:00:00Z", None),
        ("1899-12-31T23:59:59Z", "before 1900"),
        ("0001-01-01", "before 1900"),
        ("2026-13-01T00:00:00Z", "not a date"),
        ("yesterday", "not a date"),
        ("", "not a date"),
        (None, "not a date"),
    ],
)
def test_untrusted_dates(value, why):
    got = untrusted(value, NOW)
    assert (got is None) if why is None else (got is not None and got.startswith(why)), got
