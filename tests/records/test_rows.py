"""One <record> → its rows: a datestamp a partner cannot mean (before 1900, or in the future beyond
the skew) is quarantined with its identifier and XML, never a row that outranks corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from harvest.crosswalk import get_crosswalk
from harvest.records.rows import Lineage, map_record

AT = datetime(2026, 12, 8, 12, 0, 0, tzinfo=UTC)
LIN = Lineage("s1", "europe", "oai_dc", "r1", AT, "oai_dc/2")


def record(datestamp: str) -> etree._Element:
    return etree.fromstring(
        '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>oai:x:1</identifier>'
        f"<datestamp>{datestamp}</datestamp></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>'
        "<dc:identifier>https://doi.org/10.1234/abc</dc:identifier></oai_dc:dc></metadata></record>"
    )


@pytest.mark.parametrize(
    "datestamp, kept",
    [
        ("2026-12-08T12:00:00Z", True),
        ("2026-12-08T12:15:00Z", True),  # a partner clock 15 minutes fast
        ("1900-01-01", True),
        ("2026-12-08T12:15:01Z", False),
        ("2999-01-01T00:00:00Z", False),
        ("1899-12-31", False),
    ],
)
def test_a_datestamp_outside_what_a_partner_can_mean_is_quarantined(datestamp, kept):
    out = map_record(record(datestamp), get_crosswalk("oai_dc"), LIN, "http://127.0.0.1/oai?verb=ListRecords")
    if kept:
        assert out.values is not None and out.raw_values is not None and out.quarantine is None
        return
    assert out.values is None and out.raw_values is None
    q = out.quarantine
    assert q["reason"] == "untrusted_datestamp" and q["oai_identifier"] == "oai:x:1"
    assert datestamp[:10] in q["detail"] and b"oai:x:1" in q["raw_xml"]


def test_the_skew_is_measured_from_the_harvest_not_the_wall_clock():
    later = Lineage("s1", "europe", "oai_dc", "r2", AT + timedelta(days=400), "oai_dc/2")
    out = map_record(record("2027-06-01T00:00:00Z"), get_crosswalk("oai_dc"), later, None)
    assert out.values is not None
