"""The demo data provider speaks OAI-PMH 2.0: six verbs, every error code, schema-valid pages."""

from __future__ import annotations

from functools import cache

import pytest
import requests
from lxml import etree

from harvest.demo.catalog import records_for
from harvest.demo.partners import PARTNERS
from tests.conftest import DATA

NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "xsd" / name)))


def ask(net, partner: str, method: str = "GET", **params) -> etree._Element:
    """One request; the page must be valid against the OAI-PMH schema whatever it says."""
    url = net.url_for(partner)
    r = requests.get(url, params=params) if method == "GET" else requests.post(url, data=params)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    schema("OAI-PMH-lax.xsd").assertValid(root)
    return root


def error_code(root) -> str | None:
    err = root.find("o:error", NS)
    return None if err is None else err.get("code")


def walk(net, partner, verb, **params):
    """Follow resumption tokens to the end; returns (items, token elements)."""
    items, tokens = [], []
    root = ask(net, partner, verb=verb, **params)
    while True:
        assert error_code(root) is None, etree.tostring(root)
        container = root.find(f"o:{verb}", NS)
        items += container.findall("o:record" if verb == "ListRecords" else "o:header", NS)
        tok = container.find("o:resumptionToken", NS)
        if tok is None or not (tok.text or "").strip():
            if tok is not None:
                tokens.append(tok)
            return items, tokens
        tokens.append(tok)
        root = ask(net, partner, verb=verb, resumptionToken=tok.text)


@pytest.mark.parametrize("partner", [p.id for p in PARTNERS])
def test_identify_declares_granularity_and_earliest_datestamp(demo_network, partner):
    p = next(x for x in PARTNERS if x.id == partner)
    root = ask(demo_network, partner, verb="Identify")
    ident = root.find("o:Identify", NS)
    assert ident.findtext("o:granularity", namespaces=NS) == p.granularity
    assert ident.findtext("o:deletedRecord", namespaces=NS) == p.deleted_record
    earliest = ident.findtext("o:earliestDatestamp", namespaces=NS)
    assert len(earliest) == (10 if p.granularity == "YYYY-MM-DD" else 20)
    assert ident.findtext("o:baseURL", namespaces=NS) == demo_network.url_for(partner)
    description = ident.find("o:description/id:oai-identifier", NS)
    schema("oai-identifier.xsd").assertValid(description)


@pytest.mark.parametrize("partner", [p.id for p in PARTNERS])
def test_list_records_pages_through_every_record_in_every_format(demo_network, partner):
    p = next(x for x in PARTNERS if x.id == partner)
    expected = records_for(partner)
    for prefix in p.formats:
        records, tokens = walk(demo_network, partner, "ListRecords", metadataPrefix=prefix)
        ids = [r.findtext("o:header/o:identifier", namespaces=NS) for r in records]
        assert ids == [r.oai_id for r in expected]
        assert len(tokens) >= 3, "the demo must exercise resumption tokens over several pages"
        assert {int(t.get("completeListSize")) for t in tokens} == {len(expected)}
        deleted = [r for r in records if r.find("o:header", NS).get("status") == "deleted"]
        assert all(r.find("o:metadata", NS) is None for r in deleted)
        assert len(deleted) == sum(r.deleted for r in expected)
        if prefix == "oai_dc":
            for r in records:
                dc = r.find("o:metadata/oai_dc:dc", NS)
                if dc is not None:
                    schema("oai_dc.xsd").assertValid(dc)


def test_list_identifiers_respects_from_until_and_set(demo_network):
    frm, until = "2020-01-01T00:00:00Z", "2021-12-31T23:59:59Z"
    headers, _ = walk(
        demo_network,
        "eosc-zenodo",
        "ListIdentifiers",
        metadataPrefix="oai_dc",
        set="software",
        **{"from": frm, "until": until},
    )
    expected = [
        r.oai_id
        for r in records_for("eosc-zenodo")
        if frm <= r.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ") <= until and "software" in r.sets
    ]
    assert [h.findtext("o:identifier", namespaces=NS) for h in headers] == expected and expected


def test_day_granularity_includes_the_whole_until_day(demo_network):
    stamps = sorted({r.datestamp.strftime("%Y-%m-%d") for r in records_for("ardc-rda")})
    day = stamps[len(stamps) // 2]
    headers, _ = walk(
        demo_network, "ardc-rda", "ListIdentifiers", metadataPrefix="oai_dc", **{"from": day, "until": day}
    )
    assert headers and all(h.findtext("o:datestamp", namespaces=NS) == day for h in headers)


def test_get_record_live_and_deleted(demo_network):
    records = records_for("lareferencia")
    live = next(r for r in records if not r.deleted)
    gone = next(r for r in records if r.deleted)
    root = ask(demo_network, "lareferencia", verb="GetRecord", identifier=live.oai_id, metadataPrefix="oai_openaire")
    assert root.find("o:GetRecord/o:record/o:metadata", NS) is not None
    root = ask(demo_network, "lareferencia", verb="GetRecord", identifier=gone.oai_id, metadataPrefix="oai_dc")
    assert root.find("o:GetRecord/o:record/o:header", NS).get("status") == "deleted"
    assert root.find("o:GetRecord/o:record/o:metadata", NS) is None


def test_list_metadata_formats_and_sets(demo_network):
    root = ask(demo_network, "eosc-zenodo", verb="ListMetadataFormats")
    prefixes = [m.findtext("o:metadataPrefix", namespaces=NS) for m in root.iterfind(".//o:metadataFormat", NS)]
    assert prefixes == ["oai_datacite", "oai_dc"]
    root = ask(demo_network, "eosc-zenodo", verb="ListSets")
    assert "software" in [s.text for s in root.iterfind(".//o:setSpec", NS)]


def test_post_answers_like_get(demo_network):
    get = ask(demo_network, "aosp-africa", verb="ListIdentifiers", metadataPrefix="oai_dc")
    post = ask(demo_network, "aosp-africa", "POST", verb="ListIdentifiers", metadataPrefix="oai_dc")
    ids = lambda root: [e.text for e in root.iterfind(".//o:header/o:identifier", NS)]
    assert ids(get) == ids(post) and ids(get)


SOME_ID = "oai:mosp.demo:1"


@pytest.mark.parametrize(
    "partner, params, code",
    [
        ("mosp-malaysia", {}, "badVerb"),
        ("mosp-malaysia", {"verb": "ListThings"}, "badVerb"),
        ("mosp-malaysia", {"verb": ["Identify", "Identify"]}, "badVerb"),
        ("mosp-malaysia", {"verb": "Identify", "extra": "1"}, "badArgument"),
        ("mosp-malaysia", {"verb": "ListRecords"}, "badArgument"),
        ("mosp-malaysia", {"verb": "GetRecord", "identifier": SOME_ID}, "badArgument"),
        ("mosp-malaysia", {"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]}, "badArgument"),
        ("mosp-malaysia", {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "last week"}, "badArgument"),
        (
            "mosp-malaysia",
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T00:00:00Z"},
            "badArgument",
        ),  # finer than the repository's day granularity
        (
            "eosc-zenodo",
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01", "until": "2021-01-01T00:00:00Z"},
            "badArgument",
        ),
        (
            "eosc-zenodo",
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-01", "until": "2020-01-01"},
            "badArgument",
        ),
        ("eosc-zenodo", {"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, "badArgument"),
        (
            "eosc-zenodo",
            {"verb": "ListRecords", "resumptionToken": "bm90LWEtdG9rZW4.abcdef123456"},
            "badResumptionToken",
        ),
        ("eosc-zenodo", {"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            "eosc-zenodo",
            {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:nope:1"},
            "idDoesNotExist",
        ),
        ("eosc-zenodo", {"verb": "ListMetadataFormats", "identifier": "oai:nope:1"}, "idDoesNotExist"),
        ("eosc-zenodo", {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"}, "noRecordsMatch"),
        (
            "eosc-zenodo",
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "no-such-set"},
            "noRecordsMatch",
        ),
        ("mosp-malaysia", {"verb": "ListSets"}, "noSetHierarchy"),
        ("mosp-malaysia", {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "x"}, "noSetHierarchy"),
    ],
)
def test_protocol_errors(demo_network, partner, params, code):
    root = ask(demo_network, partner, **params)
    assert error_code(root) == code
    request = root.find("o:request", NS)
    if code in ("badVerb", "badArgument"):  # spec 3.6: no attributes echoed for these
        assert dict(request.attrib) == {}
