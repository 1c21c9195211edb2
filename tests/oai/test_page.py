"""Parsing one response page: once, safely, and with a clear reason when it cannot be read."""

from __future__ import annotations

from datetime import UTC

import pytest

from harvest.errors import PageError
from harvest.oai.page import parse_page
from tests.conftest import DATA

URL = "http://127.0.0.1/oai?verb=ListRecords"


def read(name: str) -> bytes:
    return (DATA / "oai" / name).read_bytes()


def test_list_records_page_with_token_and_deleted_record():
    page = parse_page(read("sickle_ListRecords.xml"), URL)
    assert page.verb == "ListRecords"
    assert len(page.items) == 2 and page.token == "ListRecords2.xml"
    deleted = [r for r in page.items if r.find("{*}header").get("status") == "deleted"]
    assert len(deleted) == 1


def test_last_page_has_no_token():
    page = parse_page(read("sickle_ListIdentifiers2.xml"), URL)
    assert page.token is None and page.items


@pytest.mark.parametrize(
    "name, code",
    [
        ("zenodo_422_noRecordsMatch.xml", "noRecordsMatch"),
        ("zenodo_422_badResumptionToken.xml", "badResumptionToken"),
    ],
)
def test_error_bodies_are_read_whatever_the_status(name, code):
    page = parse_page(read(name), URL)
    assert [c for c, _ in page.errors] == [code]


def test_broken_xml_is_a_page_error_naming_the_url():
    with pytest.raises(PageError) as exc:
        parse_page(read("sickle_ListRecordsBroken.xml"), URL, "src-x")
    assert exc.value.reason == "malformed_xml" and URL in str(exc.value) and "[src-x]" in str(exc.value)


ENVELOPE = (
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z'
    "</responseDate><request>x</request><ListRecords>{body}</ListRecords></OAI-PMH>"
)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>',
        '<!DOCTYPE OAI-PMH SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE OAI-PMH [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY xxe "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    ],
)
def test_hostile_xml_is_refused_not_expanded(doctype):
    body = doctype + ENVELOPE.format(
        body="<record><header><identifier>&xxe;</identifier></header></record>" if "ENTITY xxe" in doctype else ""
    )
    with pytest.raises(PageError) as exc:
        parse_page(body.encode(), URL)
    assert exc.value.reason == "hostile_xml"
    assert "root:" not in str(exc.value)  # nothing from /etc/passwd leaks into the message


def test_illegal_control_characters_are_removed_and_counted():
    body = ENVELOPE.format(
        body="<record><header><identifier>oai:x:1\x0b\x01</identifier>"
        "<datestamp>2024-01-01</datestamp></header></record>"
    )
    page = parse_page(body.encode(), URL)
    assert page.illegal_chars_removed == 2
    assert page.items[0].findtext("{*}header/{*}identifier") == "oai:x:1"


def test_not_oai_pmh_and_empty_bodies_are_named():
    with pytest.raises(PageError, match="not_oai_pmh"):
        parse_page(b"<html><body>maintenance</body></html>", URL)
    with pytest.raises(PageError, match="empty_body"):
        parse_page(b"  ", URL)


def test_pages_over_ten_megabytes_parse():
    record = (
        "<record><header><identifier>oai:x:{i}</identifier><datestamp>2024-01-01</datestamp></header>"
        "<metadata><dc>" + "x" * 2000 + "</dc></metadata></record>"
    )
    body = ENVELOPE.format(body="".join(record.format(i=i) for i in range(6000)))
    assert len(body) > 10 * 1024 * 1024
    page = parse_page(body.encode(), URL)
    assert len(page.items) == 6000


# ---- each record's bytes as received (harvest.oai.page.record_bytes) --------------------------
def _same_element(a: bytes, b: bytes) -> bool:
    from lxml import etree

    return etree.tostring(etree.fromstring(a), method="c14n") == etree.tostring(etree.fromstring(b), method="c14n")


def _demo_pages() -> list[bytes]:
    from harvest.demo.partners import PARTNERS
    from harvest.demo.provider import Provider

    pages = []
    for p in PARTNERS:
        for fmt in p.formats:
            provider = Provider(p, "http://127.0.0.1/oai", page_size=20)
            args = {"verb": ["ListRecords"], "metadataPrefix": [fmt]}
            for _ in range(3):
                body = provider.handle(args)[1]
                pages.append(body)
                token = parse_page(body, URL).token
                if not token:
                    break
                args = {"verb": ["ListRecords"], "resumptionToken": [token]}
    return pages


@pytest.mark.parametrize("name", ["captured", "demo"])
def test_record_bytes_are_each_record_as_received_and_parse_to_what_lxml_serialises(name):
    """Cut from the page, with the namespaces they inherit declared: each parses on its own to the
    element lxml serialises (canonical XML compared), for a captured page and the demo network's
    pages in every format."""
    from lxml import etree

    from harvest.oai.page import record_bytes

    if name == "captured":  # sickle's sample and Zenodo's pages (oai_dc, DataCite, ...) recorded by oaipmh-scythe
        from tests.interop.replay_server import load

        pages = [
            read("sickle_ListRecords.xml"),
            *(i["body"] for i in load([DATA / "interop" / "list_records.yaml"]) if i["status"] == 200),
        ]
    else:
        pages = _demo_pages()
    total = 0
    for body in pages:
        page = parse_page(body, URL)
        cut = record_bytes(page)
        assert cut is not None and len(cut) == len(page.items) > 0
        for element, xml in zip(page.items, cut):
            assert _same_element(xml, etree.tostring(element, encoding="utf-8"))
            assert xml[xml.index(b">") + 1 :] in body  # the rest byte for byte as received
            total += 1
    assert total >= (200 if name == "captured" else 300)


OAI_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    b'xmlns:x="urn:x"><responseDate>2026-01-01T00:00:00Z</responseDate>'
    b'<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords>\n'
)


def _record(i: int, payload: bytes = b"<x:t>title</x:t>") -> bytes:
    return (
        b"<record><header><identifier>oai:x:%d</identifier><datestamp>2026-01-01</datestamp></header>"
        b"<metadata><x:m>%s</x:m></metadata></record>" % (i, payload)
    )


@pytest.mark.parametrize(
    "records, cut",
    [
        ([_record(1), _record(2)], True),
        # a MARCXML record in the default namespace inside: counted, not taken for the end
        (
            [
                _record(1, b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>x</leader><record/></record>'),
                _record(2),
            ],
            True,
        ),
        ([_record(1, b"<![CDATA[ </record> <record> ]]>"), _record(2)], None),  # a decoy end tag
        ([_record(1, b"<!-- </record> -->"), _record(2)], None),
        ([_record(1) + b"<!-- between -->", _record(2)], None),  # not only whitespace
        ([_record(1).replace(b"<record>", b'<record x:a="1">'), _record(2)], None),  # attributes
    ],
)
def test_record_bytes_are_cut_only_where_the_page_makes_them_sure(records, cut):
    """Where cutting could go wrong the answer is None (lxml then serialises the records); where it
    cuts, every piece is its record."""
    from lxml import etree

    from harvest.oai.page import record_bytes

    body = OAI_HEAD + b"\n".join(records) + b"\n</ListRecords></OAI-PMH>"
    page = parse_page(body, URL)
    assert len(page.items) == 2
    got = record_bytes(page)
    if cut is None:
        assert got is None or all(_same_element(g, etree.tostring(e)) for g, e in zip(got, page.items))
    else:
        assert got is not None and all(_same_element(g, etree.tostring(e)) for g, e in zip(got, page.items))


def test_record_bytes_are_not_cut_from_pages_in_other_encodings_or_cleaned_of_illegal_characters():
    from harvest.oai.page import record_bytes

    latin = OAI_HEAD.replace(b"UTF-8", b"ISO-8859-1") + _record(1, b"caf\xe9") + b"</ListRecords></OAI-PMH>"
    assert parse_page(latin, URL).items and record_bytes(parse_page(latin, URL)) is None
    dirty = OAI_HEAD + _record(1, b"a\x01b") + b"</ListRecords></OAI-PMH>"
    page = parse_page(dirty, URL)
    assert page.illegal_chars_removed == 1 and record_bytes(page) is None
    assert record_bytes(parse_page(OAI_HEAD + _record(1) + b"</ListRecords></OAI-PMH>", URL)) is not None


def test_a_record_whose_bytes_do_not_hold_its_identifier_is_serialised_by_lxml():
    """An identifier written with a character reference (`&amp;`) is not in the record's bytes as
    parsed: that record's raw XML is lxml's serialisation; its neighbours keep their bytes."""
    from datetime import datetime

    from lxml import etree

    from harvest.crosswalk import get_crosswalk
    from harvest.oai.page import record_bytes
    from harvest.records.pages import PageTables, map_items
    from harvest.records.rows import RAW_COLUMNS, Lineage

    odd = _record(1).replace(b"oai:x:1", b"oai:x:1&amp;2")
    page = parse_page(OAI_HEAD + odd + b"\n" + _record(2) + b"</ListRecords></OAI-PMH>", URL)
    cut = record_bytes(page)
    assert cut is not None and b"oai:x:1&amp;2" in cut[0]
    rows: list = []
    lin = Lineage("s", "europe", "oai_dc", "r1", datetime(2026, 1, 1, tzinfo=UTC), "1")
    map_items(page.items, get_crosswalk("oai_dc"), lin, URL, lambda t, r: rows.append((t, r)), PageTables(URL), cut)
    raw = [dict(zip(RAW_COLUMNS, r))["xml"] for t, r in rows if t == "raw"]
    assert raw == [etree.tostring(page.items[0], encoding="utf-8"), cut[1]]


def test_a_record_full_of_same_named_elements_is_cut_in_one_pass():
    """A hostile record with 20 000 elements whose names start like the record's (`<records/>`)
    is cut in one pass: the loop scans the record's bytes a few times over, not once per nested
    element (which made it quadratic: ~1 s here, ~40 min for a 10 MB page). Counted on the Python
    loop."""
    from harvest.oai.page import _cut_records

    class Counted(bytes):
        scanned = 0

        def find(self, sub, start=0, end=None):
            end = len(self) if end is None else end
            found = super().find(sub, start, end)
            Counted.scanned += (found if found >= 0 else end) - start
            return found

    record = b"<record><metadata>" + b"<records/>" * 20_000 + b"</metadata></record>"
    cut = _cut_records(Counted(record), 0, 1, b"<record", b"</record>", b"<record")
    assert cut == ([record], len(record))
    assert Counted.scanned < 3 * len(record)
