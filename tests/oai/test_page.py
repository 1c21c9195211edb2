"""Parsing one response page: once, safely, and with a clear reason when it cannot be read."""
from __future__ import annotations

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


@pytest.mark.parametrize("name, code", [
    ("zenodo_422_noRecordsMatch.xml", "noRecordsMatch"),
    ("zenodo_422_badResumptionToken.xml", "badResumptionToken"),
])
def test_error_bodies_are_read_whatever_the_status(name, code):
    page = parse_page(read(name), URL)
    assert [c for c, _ in page.errors] == [code]


def test_broken_xml_is_a_page_error_naming_the_url():
    with pytest.raises(PageError) as exc:
        parse_page(read("sickle_ListRecordsBroken.xml"), URL, "src-x")
    assert exc.value.reason == "malformed_xml" and URL in str(exc.value) and "[src-x]" in str(exc.value)


ENVELOPE = ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z'
            '</responseDate><request>x</request><ListRecords>{body}</ListRecords></OAI-PMH>')


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>',
    '<!DOCTYPE OAI-PMH SYSTEM "http://127.0.0.1:9/evil.dtd">',
    '<!DOCTYPE OAI-PMH [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY xxe "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
])
def test_hostile_xml_is_refused_not_expanded(doctype):
    body = doctype + ENVELOPE.format(body="<record><header><identifier>&xxe;</identifier></header></record>"
                                     if "ENTITY xxe" in doctype else "")
    with pytest.raises(PageError) as exc:
        parse_page(body.encode(), URL)
    assert exc.value.reason == "hostile_xml"
    assert "root:" not in str(exc.value)  # nothing from /etc/passwd leaks into the message


def test_illegal_control_characters_are_removed_and_counted():
    body = ENVELOPE.format(body="<record><header><identifier>oai:x:1\x0b\x01</identifier>"
                                "<datestamp>2024-01-01</datestamp></header></record>")
    page = parse_page(body.encode(), URL)
    assert page.illegal_chars_removed == 2
    assert page.items[0].findtext("{*}header/{*}identifier") == "oai:x:1"


def test_not_oai_pmh_and_empty_bodies_are_named():
    with pytest.raises(PageError, match="not_oai_pmh"):
        parse_page(b"<html><body>maintenance</body></html>", URL)
    with pytest.raises(PageError, match="empty_body"):
        parse_page(b"  ", URL)


def test_pages_over_ten_megabytes_parse():
    record = ("<record><header><identifier>oai:x:{i}</identifier><datestamp>2024-01-01</datestamp></header>"
              "<metadata><dc>" + "x" * 2000 + "</dc></metadata></record>")
    body = ENVELOPE.format(body="".join(record.format(i=i) for i in range(6000)))
    assert len(body) > 10 * 1024 * 1024
    page = parse_page(body.encode(), URL)
    assert len(page.items) == 6000
