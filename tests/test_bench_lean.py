"""The lean baseline of `make bench` (b) extracts real fields: a baseline that skipped work would
flatter every ratio measured against it."""

from pathlib import Path

from lxml import etree

from bench.lean import generic_fields, two_fields
from harvest.oai.page import parse_page

DATA = Path(__file__).parent / "data" / "oai"


def test_generic_fields_reads_header_and_every_leaf_by_local_name():
    ((ident, stamp, fields),) = generic_fields(etree.parse(DATA / "zenodo_getrecord_oai_dc.xml").getroot())
    assert (ident, stamp) == ("oai:zenodo.org:10357859", "2023-12-11T17:26:46Z")
    assert fields["title"] == ["Research Data Management Organiser (RDMO)"]
    assert fields["identifier"] == ["https://doi.org/10.5281/zenodo.10357859", "oai:zenodo.org:10357859"]
    assert len(fields["creator"]) == 9 and fields["creator"][3] == "Schröder, Max"
    assert "info:eu-repo/semantics/openAccess" in fields["rights"]


def test_both_extractions_see_every_record_of_a_page():
    body = (DATA / "sickle_ListRecords.xml").read_bytes()
    root = etree.fromstring(body)
    n = len(parse_page(body, "test").items)
    assert n > 1
    assert len(generic_fields(root)) == len(two_fields(root)) == n
    assert [r[0] for r in generic_fields(root)] == [r[0] for r in two_fields(root)]
