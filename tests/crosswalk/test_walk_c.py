"""The C walks (harvest/crosswalk/_walk.c) give exactly what the Python walks give, for oai_dc
(`dc_fields` against `_dc_fields`) and DataCite/OpenAIRE (`datacite_fields` against `_walk`): on
generated elements (whitespace of every kind, comments, processing instructions, CDATA, character
references, nested elements, non-Latin text), on the property tests' random trees and mutated
real records, on every captured record, and through the whole crosswalk on the demo network.
`make` builds the module; where it is not built these tests are skipped, unless
GOSC_REQUIRE_C_WALK=1 (CI sets it where there is a C compiler) makes that a failure."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from harvest.crosswalk import Unmappable, datacite, oai_dc, speedups
from harvest.demo.partners import PARTNERS
from harvest.oai.page import _PARSER, OAI_NS, parse_page
from tests.conftest import DATA

if speedups.dc_fields is None:
    if os.environ.get("GOSC_REQUIRE_C_WALK") == "1":
        pytest.fail("the C walk is not built or not used (run `python -m harvest.crosswalk.build_walk`)",
                    pytrace=False)
    pytest.skip("the C walks are not in use here (not built, or HARVEST_C_WALK=0): the Python walks run",
                allow_module_level=True)

c_walk = speedups.dc_fields
c_resource = datacite.c_datacite_fields
DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NAMES = ["title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
         "identifier", "source", "language", "relation", "coverage", "rights"]
# text with the whitespace the normalisation treats differently: ASCII and Unicode spaces, runs,
# line breaks, the characters XML allows that Python's str.strip counts as whitespace (\x85, \u2028,
# \u1680, ...), character references, and non-Latin text
TEXT = st.lists(st.sampled_from(list("ab Z,;.-") + ["  ", "\t", "\n", "\r\n", "\xa0", "\u3000", "\u2003",
                                                           "\x85", "\u2028", "\u1680", "é", "数据",
                                                           "Ж", "ا", "&amp;", "&lt;", "&#x9;", "&#160;", "&#x1F600;"]),
                max_size=12).map("".join)


@st.composite
def content(draw, depth: int = 0) -> str:
    """The inside of one dc element: text, comments, PIs, CDATA and (rarely) nested elements."""
    pieces = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "text", "text", "comment", "pi", "cdata"] + (["nested"] if depth < 2 else [])))
        if kind == "text":
            pieces.append(draw(TEXT))
        elif kind == "comment":
            pieces.append(f"<!--{draw(st.sampled_from(['', ' note ', 'x']))}-->")
        elif kind == "pi":
            pieces.append("<?php echo 1 ?>")
        elif kind == "cdata":
            pieces.append(f"<![CDATA[{draw(st.sampled_from(['', ' c ', '<b>&amp;', 'é  x']))}]]>")
        else:
            pieces.append(f"<dc:span>{draw(content(depth + 1))}</dc:span>")
    return "".join(pieces)


@st.composite
def dc_document(draw) -> bytes:
    children = []
    for _ in range(draw(st.integers(0, 25))):
        name = draw(st.sampled_from(NAMES + ["unknown"]))
        prefix = draw(st.sampled_from(["dc:", "dc:", "x:", ""]))   # other namespaces and none: matched by local name
        if draw(st.integers(0, 9)) == 0:
            children.append(draw(st.sampled_from(["<!-- between -->", "<?pi x?>", "\n  "])))
        children.append(f"<{prefix}{name}>{draw(content())}</{prefix}{name}>")
    body = "".join(children)
    root = draw(st.sampled_from(["wrapped", "bare", "none"]))
    ns = f'xmlns:oai_dc="{OAI_DC}" xmlns:dc="{DC}" xmlns:x="urn:other"'
    if root == "bare":
        return f"<oai_dc:dc {ns}>{body}</oai_dc:dc>".encode()
    inner = f"<oai_dc:dc>{body}</oai_dc:dc>" if root == "wrapped" else f"<other>{body}</other>"
    return f'<metadata xmlns="{OAI_NS}" {ns}><!-- first -->{inner}</metadata>'.encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dc_document())
def test_the_c_walk_equals_the_python_walk_on_generated_records(doc):
    metadata = etree.fromstring(doc, _PARSER)
    assert c_walk(metadata) == oai_dc._dc_fields(metadata)


def _oai_dc_metadata():
    """Every <metadata> of an oai_dc record in the captured responses and crosswalk fixtures."""
    found = []
    for body in (p.read_bytes() for p in sorted((DATA / "oai").glob("*.xml"))):
        try:
            page = parse_page(body, "fixture")
        except Exception:   # noqa: BLE001 - the broken fixtures are other tests' business
            continue
        for record in page.items:
            for child in record:
                if child.tag == f"{{{OAI_NS}}}metadata" and len(child):
                    found.append(child)
    for path in sorted((DATA / "crosswalk").glob("*oai_dc*.xml")):
        found.append(etree.fromstring(path.read_bytes(), _PARSER))
    return found


def test_the_c_walk_equals_the_python_walk_on_real_records():
    records = _oai_dc_metadata()
    assert len(records) >= 5
    for metadata in records:
        assert c_walk(metadata) == oai_dc._dc_fields(metadata), etree.tostring(metadata)[:300]


def demo_metadata(prefixes: tuple[str, ...]) -> list:
    """The <metadata> of every live record on the demo network's first ListRecords page, per format."""
    from harvest.demo.provider import Provider

    found = []
    for partner in PARTNERS:
        for prefix in prefixes:
            if prefix not in partner.formats:
                continue
            body = Provider(partner, "http://127.0.0.1/oai").handle(
                {"verb": ["ListRecords"], "metadataPrefix": [prefix]})[1]
            for record in parse_page(body, "demo").items:
                found += [c for c in record if c.tag == f"{{{OAI_NS}}}metadata"][:1]
    return found


@pytest.mark.parametrize("module, switches, crosswalk, prefixes", [
    (oai_dc, ("c_dc_fields", "_c_values"), "map_oai_dc", ("oai_dc",)),
    (datacite, ("c_datacite_fields",), "map_datacite", ("oai_datacite", "oai_openaire")),
], ids=["oai_dc", "datacite"])
def test_the_crosswalk_gives_the_same_rows_with_and_without_the_c_walk(monkeypatch, module, switches, crosswalk,
                                                                       prefixes):
    records, c_functions = demo_metadata(prefixes), {name: getattr(module, name) for name in switches}
    assert None not in c_functions.values()
    rows_by = {}
    for use_c in (True, False):
        for name, c_function in c_functions.items():
            monkeypatch.setattr(module, name, c_function if use_c else None)
        rows = []
        for metadata in records:
            try:
                rows.append(getattr(module, crosswalk)(metadata))
            except Unmappable as exc:
                rows.append(("unmappable", exc.reason))
        rows_by[use_c] = rows
    assert len(rows_by[True]) > 100 and rows_by[True] == rows_by[False]


def test_an_entity_reference_is_left_to_the_python_walk(monkeypatch):
    """A tree with an (unexpanded) entity reference node, which the page parser never lets through
    (a DOCTYPE is refused), still maps: the C walk declines and the Python walk does it."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    metadata = etree.fromstring(f'<!DOCTYPE m [<!ENTITY e "x">]><m><oai_dc:dc xmlns:oai_dc="{OAI_DC}" '
                                f'xmlns:dc="{DC}"><dc:title>a &e; b</dc:title>'
                                f'<dc:identifier>doi:10.1234/x</dc:identifier></oai_dc:dc></m>'.encode(),
                                parser)
    assert c_walk(metadata) is NotImplemented
    with_c = oai_dc.map_oai_dc(metadata)
    monkeypatch.setattr(oai_dc, "c_dc_fields", None)
    assert with_c == oai_dc.map_oai_dc(metadata) and with_c["primary_pid"] == "doi:10.1234/x"


def test_no_dc_element_and_wrong_arguments():
    assert c_walk(etree.fromstring(b"<metadata><other/></metadata>")) is None
    with pytest.raises(TypeError):
        c_walk("not an element")


def test_harvest_c_walk_0_turns_it_off():
    """With HARVEST_C_WALK=0 every C path is left out: the walks, oai_dc's crosswalk and its
    record path (the Python code runs instead)."""
    code = ("from harvest.crosswalk import get_crosswalk, oai_dc, speedups; "
            "print([x is None for x in (speedups.dc_fields, oai_dc._c_values, oai_dc._c_record, "
            "get_crosswalk('oai_dc').record)])")
    for value, off in (("0", True), ("1", False)):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "HARVEST_C_WALK": value})
        assert out.stdout.strip() == str([off] * 4)


def test_long_values_grow_the_buffer_and_stay_whole():
    """Values past the walk's 1 KB stack buffer (one long description, a text split by comments
    and nested elements, many long subjects) come back whole and equal to the Python walk's."""
    long = "x" * 5000 + " é " + "数据" * 3000
    pieces = "".join(f"part{i} <!--c--><dc:b>{'y' * 700}</dc:b>" for i in range(40))
    doc = (f'<oai_dc:dc xmlns:oai_dc="{OAI_DC}" xmlns:dc="{DC}"><dc:description>{long}</dc:description>'
           f'<dc:title>{pieces}</dc:title>'
           + "".join(f"<dc:subject>  {'s' * (900 + i)}\t{i} </dc:subject>" for i in range(50))
           + "</oai_dc:dc>").encode()
    metadata = etree.fromstring(doc, _PARSER)
    fields = c_walk(metadata)
    assert fields == oai_dc._dc_fields(metadata)
    assert fields["description"] == [long] and len(fields["title"][0]) > 40 * 700 and len(fields["subject"]) == 50


# ---- DataCite / OpenAIRE: datacite_fields against find_resource + _walk -------------------------

def python_resource_walk(metadata):
    try:
        resource = datacite.find_resource(metadata)
    except Unmappable:
        return None
    return datacite._walk(resource)


def c_resource_walk(metadata):
    fields = c_resource(metadata)
    assert fields is not NotImplemented   # only entity references make it decline
    return fields


from tests.crosswalk.test_properties import PROPS, metadata_payloads  # noqa: E402  (after the skip)

_DATACITE = "datacite+oai_datacite+oai_openaire"


@PROPS
@given(metadata_payloads(_DATACITE))
def test_the_c_resource_walk_equals_the_python_walk_on_random_and_mutated_records(metadata):
    assert c_resource_walk(metadata) == python_resource_walk(metadata)


@PROPS
@given(metadata_payloads("oai_dc"))
def test_the_c_dc_walk_equals_the_python_walk_on_random_and_mutated_records(metadata):
    assert c_walk(metadata) == oai_dc._dc_fields(metadata)


def test_the_c_resource_walk_equals_the_python_walk_on_captured_records():
    found = 0
    for path in sorted(DATA.rglob("*.xml")):
        try:
            root = etree.fromstring(path.read_bytes(), _PARSER)
        except etree.XMLSyntaxError:
            continue
        for el in [root, *root.iter(f"{{{OAI_NS}}}metadata")]:
            expected = python_resource_walk(el)
            assert c_resource_walk(el) == expected, path.name
            found += expected is not None
    assert found >= 5


def test_the_resource_walk_leaves_an_entity_reference_to_python(monkeypatch):
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    metadata = etree.fromstring(b'<!DOCTYPE m [<!ENTITY e "x">]><m><resource><titles><title>a &e;</title></titles>'
                                b'<identifier identifierType="DOI">10.1234/x</identifier></resource></m>', parser)
    assert c_resource(metadata) is NotImplemented
    with_c = datacite.map_datacite(metadata)
    monkeypatch.setattr(datacite, "c_datacite_fields", None)
    assert with_c == datacite.map_datacite(metadata) and with_c["primary_pid"] == "doi:10.1234/x"


def test_the_c_walks_keep_reference_counts_and_memory_steady():
    """Every path (values, empty values, no element found, declined, wrong argument) returns what it
    owns: None's and NotImplemented's reference counts do not drift over 5 000 calls each, and
    the process does not grow over 100 000 walks of real records."""
    import gc

    def rss_kb() -> int:   # resident now (not the high-water mark: the test process was bigger before)
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    declined = etree.fromstring(b'<!DOCTYPE m [<!ENTITY e "x">]><m><resource><titles><title a="1">a &e;</title>'
                                b'</titles></resource><dc><t>&e;</t></dc></m>', parser)
    empties = etree.fromstring(b'<m><resource><a/><b x="">t</b><c><d/></c><titles><title/></titles><creators><creator/>'
                               b'<creator><creatorName/><nameIdentifier nameIdentifierScheme="ORCID"/><affiliation/>'
                               b'</creator></creators><identifier/><alternateIdentifiers><alternateIdentifier/>'
                               b'</alternateIdentifiers><dates><date/></dates><date/><relatedIdentifiers>'
                               b'<relatedIdentifier/></relatedIdentifiers><rightsList><rights/></rightsList><rights/>'
                               b'<resourceType/><language/><publicationYear/><publisher/><subjects><subject/></subjects>'
                               b'<descriptions><description/></descriptions></resource><dc><t></t><u> </u></dc></m>')
    assert c_resource(declined) is NotImplemented and c_resource(empties) == python_resource_walk(empties)
    calls = [c_resource, c_walk, c_values]
    docs = [declined, empties, etree.fromstring(b"<m/>"), etree.fromstring(speedups._CHECK_RESOURCE),
            *map(etree.fromstring, speedups._CHECK_DC_VALUES), etree.fromstring(_dc_doc(
                "<dc:title>T</dc:title><dc:creator>A; B</dc:creator><dc:identifier>10.1234/x</dc:identifier>"))]
    for call in calls:
        for doc in docs:
            before = sys.getrefcount(None), sys.getrefcount(NotImplemented)
            for _ in range(5000):
                result = call(doc)
            del result
            assert (sys.getrefcount(None), sys.getrefcount(NotImplemented)) == before
    real = [el for path in sorted((DATA / "crosswalk").glob("*.xml")) for el in [etree.fromstring(path.read_bytes())]]

    def walk_all(times):
        for _ in range(times):
            for el in real:
                c_walk(el)
                c_resource(el)
                c_values(el)
            with pytest.raises(TypeError):
                c_walk(None)
    walk_all(200)
    gc.collect()
    before = rss_kb()
    walk_all(100_000 // len(real))
    gc.collect()
    assert rss_kb() - before < 2048


# a DataCite/OpenAIRE resource from the pieces the walk tells apart: repeated and empty elements,
# attributes present, empty, absent or in another namespace, names with and without commas,
# spaces and non-ASCII letters, comments and processing instructions between elements
_ATTR = st.sampled_from([None, "", "x", "Abstract", "Other", "Issued", "İssued", "ORCID", "orcid", " ORCID", "orcıd",
                         "https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", "Dataset", "IsCitedBy", "DOI"])
_TEXT = st.sampled_from(["", " ", "Smith, Jane", "Family , Given ", " A  B ", "Ng", "数据, 名", "Ó Briain\u2003Seán",
                         "0000-0002-1825-0097", "https://orcid.org/0000-0002-1694-233X", "2019-05-01", "eng", "Dataset",
                         "10.5281/zenodo.1", "https://x.org/a", "CC0", "c. 1998", "Text", "a &amp; b", "<!-- c -->"])


@st.composite
def _resource(draw) -> bytes:
    def attrs(*names):
        out = ""
        for name in names:
            value = draw(_ATTR)
            if value is not None:
                out += f' {draw(st.sampled_from(["", "x:"]))}{name}="{value}"'
        return out

    def el(name, *attr_names, kids=None):
        inner = kids if kids is not None else draw(_TEXT)
        return f"<r:{name}{attrs(*attr_names)}>{inner}</r:{name}>"

    def some(make, most=3):
        return "".join(make() for _ in range(draw(st.integers(0, most))))

    creator = lambda: el(draw(st.sampled_from(["creator", "contributor", "creator"])), kids=some(lambda: draw(st.sampled_from([
        el("creatorName"), el("contributorName"), el("familyName"), el("givenName"), el("affiliation"),
        el("nameIdentifier", "nameIdentifierScheme"), "<!--c-->", "<?pi x?>"])), 5))
    children = [
        lambda: el("creators", kids=some(creator)), lambda: el("titles", kids=some(lambda: el("title", "titleType"))),
        lambda: el("subjects", kids=some(lambda: el("subject"))), lambda: el("identifier", "identifierType"),
        lambda: el("alternateIdentifiers", kids=some(lambda: el("alternateIdentifier", "alternateIdentifierType"))),
        lambda: el("descriptions", kids=some(lambda: el("description", "descriptionType"))),
        lambda: el("dates", kids=some(lambda: el("date", "dateType"))),
        lambda: el("relatedIdentifiers", kids=some(lambda: el("relatedIdentifier", "relationType",
                                                              "relatedIdentifierType"))),
        lambda: el("rightsList", kids=some(lambda: el("rights", "rightsURI", "rightsIdentifier"))),
        lambda: el("publisher"), lambda: el("publicationYear"), lambda: el("resourceType", "uri", "resourceTypeGeneral"),
        lambda: el("language"), lambda: el("subject"), lambda: el("description"), lambda: el("date", "dateType"),
        lambda: el("rights", "rightsURI", "uri"), lambda: el("licenseCondition", "uri"), lambda: "<!-- between -->",
        lambda: el("other", "uri"),
    ]
    body = "".join(draw(st.sampled_from(children))() for _ in range(draw(st.integers(0, 14))))
    return (f'<metadata xmlns="{OAI_NS}"><r:resource xmlns:r="http://datacite.org/schema/kernel-4" '
            f'xmlns:x="urn:x">{body}</r:resource></metadata>').encode()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_resource())
@example(f'<metadata xmlns="{OAI_NS}"><r:resource xmlns:r="http://datacite.org/schema/kernel-4"><r:creators><r:creator>'
         '<r:creatorName>Ng, A</r:creatorName><r:affiliation/><r:affiliation>First</r:affiliation>'
         '<r:affiliation>Second</r:affiliation></r:creator></r:creators></r:resource></metadata>'.encode())
def test_the_c_datacite_walk_equals_the_python_walk_on_generated_resources(doc):
    metadata = etree.fromstring(doc, _PARSER)
    assert c_resource_walk(metadata) == python_resource_walk(metadata)


# ---- the whole oai_dc crosswalk in C: dc_values against py_map_oai_dc -----------------------------

c_values = oai_dc._c_values


def _dc_doc(body: str) -> bytes:
    return f'<metadata xmlns="{OAI_NS}"><oai_dc:dc xmlns:oai_dc="{OAI_DC}" xmlns:dc="{DC}">{body}</oai_dc:dc></metadata>'.encode()


def python_values(metadata):
    try:
        return oai_dc.py_map_oai_dc(metadata)
    except Unmappable as exc:
        return ("unmappable", exc.reason)


def assert_c_values_match(metadata) -> None:
    """dc_values gives py_map_oai_dc's tuple, or declines exactly where it says it does: what the
    C walk leaves, a record Python finds unmappable, a creator with ';' to split."""
    found, expected = c_values(metadata), python_values(metadata)
    fields = oai_dc._dc_fields(metadata)
    declines = (expected[0] == "unmappable" or c_walk(metadata) is NotImplemented
                or any(";" in name for name in (fields or {}).get("creator", ())))
    if declines:
        assert found is NotImplemented
    else:
        assert found == expected
        assert [type(x) for x in found] == [type(x) for x in expected]


# values that mean something to the crosswalk: identifiers of every scheme and spelling, types,
# languages, rights, dates, ISSN-like sources, names with and without commas and semicolons
_DC_VALUES = {
    "identifier": ["10.5281/zenodo.1", "https://doi.org/10.5281/ZENODO.1", "doi:10.5281/zenodo.1", "hdl:1234/5",
                   "http://hdl.handle.net/1234/5", "https://x.org/r/1", "arXiv:2101.00001v2", "urn:nbn:de:101-2019",
                   "ark:/13030/tf5p30086k", "CSTR:31253.11.sciencedb.1", "ISBN 978-0-306-40615-7", "not a pid",
                   "10.1%2Fx", "https://doi.org/10.1234/é", "oai:zenodo.org:1", "ISSN 0947-6539"],
    "type": ["Text", "info:eu-repo/semantics/article", "Dataset", "http://purl.org/coar/resource_type/c_ddb1",
             "journal article", "unknown thing", "Software", "TEXT"],
    "language": ["eng", "en", "English", "spa", "und", "xx-yy", "zz", "fr-CA", "中文"],
    "rights": ["info:eu-repo/semantics/openAccess", "https://creativecommons.org/licenses/by/4.0/",
               "Creative Commons Attribution 4.0 International", "CC0", "CC-BY-4.0", "All rights reserved",
               "https://creativecommons.org/licenses/by/3.0/au/"],
    "date": ["2021-05-01", "c. 1998", "2020/2021", "n.d.", "1400", "2019"],
    "source": ["ISSN 0947-6539", "0947-6539", "Journal of Things", "1234-567X", "eissn:0947-6538"],
    "relation": ["https://doi.org/10.1/x", "10.1/x", "hdl:1/2", "see also", "https://x.org/a"],
    "creator": ["Doe, Jane", "Li Wei", "Ng", "Doe, Jane; Uni A", "; Uni", "Ó Briain, Seán", "数据, 名", " Smith ,  J "],
    "title": ["T", "A title", "数据"],
    "subject": ["a", "b", "a", "数据"],
    "description": ["--", "Abstract", "…", "x", "١٢"],
    "publisher": ["P", "Zenodo"],
}


@st.composite
def _dc_record(draw) -> bytes:
    names = draw(st.lists(st.sampled_from(sorted(_DC_VALUES) + ["contributor", "format", "coverage"]), max_size=16))
    body = "".join(f"<dc:{n}>{draw(st.sampled_from(_DC_VALUES.get(n, ['x', ''])))}</dc:{n}>" for n in names)
    return _dc_doc(body)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_dc_record())
def test_the_c_oai_dc_crosswalk_equals_the_python_one_on_generated_records(doc):
    assert_c_values_match(etree.fromstring(doc, _PARSER))


@PROPS
@given(metadata_payloads("oai_dc"))
def test_the_c_oai_dc_crosswalk_equals_the_python_one_on_random_and_mutated_records(metadata):
    assert_c_values_match(metadata)


def test_the_c_oai_dc_crosswalk_equals_the_python_one_on_real_records():
    records = _oai_dc_metadata() + demo_metadata(("oai_dc",))
    mapped = 0
    for metadata in records:
        assert_c_values_match(metadata)
        mapped += c_values(metadata) is not NotImplemented
    assert mapped > 100


def test_the_c_oai_dc_crosswalk_declines_what_python_must_do():
    """Each case it leaves to Python, and map_oai_dc still maps (or refuses) it as Python does."""
    cases = {
        "missing_title": "<dc:identifier>10.1234/x</dc:identifier>",
        "missing_identifier": "<dc:title>T</dc:title><dc:identifier>not a pid</dc:identifier>",
        "affiliation": "<dc:title>T</dc:title><dc:creator>Doe, J; Uni A</dc:creator><dc:identifier>10.1234/x</dc:identifier>",
    }
    for case, body in cases.items():
        metadata = etree.fromstring(_dc_doc(body))
        assert c_values(metadata) is NotImplemented, case
        if case == "affiliation":
            assert oai_dc.map_oai_dc(metadata)["creators"] == [
                {"name": "Doe, J", "family_name": "Doe", "orcid": None, "affiliation": "Uni A"}]
        else:
            with pytest.raises(Unmappable) as caught:
                oai_dc.map_oai_dc(metadata)
            assert caught.value.reason == case
    assert c_values(etree.fromstring(b"<metadata><other/></metadata>")) is NotImplemented
    with pytest.raises(TypeError):
        c_values("not an element")


# ---- a whole oai_dc <record> in C: dc_record against harvest.records.map_record ---------------------

from datetime import datetime, timezone  # noqa: E402

from harvest.crosswalk import get_crosswalk  # noqa: E402
from harvest.records import Lineage, map_items, map_record, PageResult  # noqa: E402

c_record = oai_dc._c_record
CROSSWALK = get_crosswalk("oai_dc")
LIN = Lineage("s", "europe", "oai_dc", "run-1", datetime(2026, 1, 2, tzinfo=timezone.utc), CROSSWALK.version)
_HEADER_PARTS = {
    "identifier": ["oai:x:1", " oai:x:1 ", "", "oai:x:é", "  "],
    "datestamp": ["2024-05-01T10:00:00Z", "2024-05-01", " 2024-05-01 ", "2024-02-30", "2024-05-01T10:00:00+02:00",
                  "0001-01-01T00:30:00+01:00", "garbage", "", "2024-05-01T10:00:00.5Z", "2024-13-01T00:00:00Z"],
    "setSpec": ["a", " b ", "", "  ", "数据"],
}


@st.composite
def _oai_record(draw) -> tuple[bytes, bytes | None]:
    """A valid live <record> with up to three things changed: its identifier, datestamp or sets
    written otherwise, a second identifier, a status, comments and foreign elements in the header,
    metadata missing, empty or random (_dc_record), the order of header and metadata; and the
    bytes a page held for it: its own, bytes without its identifier, or none."""
    header = {"identifier": ["oai:x:1"], "datestamp": ["2024-05-01T10:00:00Z"], "setSpec": ["a", "b"]}
    extra, status, order = [], "", "hm"
    metadata = _dc_doc("<dc:title>T</dc:title><dc:identifier>10.1234/x</dc:identifier><dc:creator>Doe, J</dc:creator>")
    received_kind = "own"
    for change in draw(st.lists(st.sampled_from(["identifier", "datestamp", "setSpec", "second_id", "status", "noise",
                                                 "metadata", "order", "received"]), max_size=3)):
        if change in _HEADER_PARTS:
            header[change] = draw(st.lists(st.sampled_from(_HEADER_PARTS[change]), min_size=0 if change == "setSpec"
                                           else 1, max_size=3))
        elif change == "second_id":
            header["identifier"] = header["identifier"] + ["oai:x:2"]
        elif change == "status":
            status = draw(st.sampled_from([' status="deleted"', ' status="other"']))
        elif change == "noise":
            extra.append(draw(st.sampled_from(["<!-- c -->", "<x:note xmlns:x='urn:x'>n</x:note>", "<?pi x?>"])))
        elif change == "metadata":
            metadata = draw(st.sampled_from([b"", f'<metadata xmlns="{OAI_NS}"><!-- c --></metadata>'.encode(),
                                             draw(_dc_record())]))
        elif change == "order":
            order = "mh"
        else:
            received_kind = draw(st.sampled_from(["other", "none"]))
    children = [f"<{name}>{value}</{name}>" for name, values in header.items() for value in values] + extra
    children = draw(st.permutations(children)) if extra or draw(st.booleans()) else children
    head = f"<header{status}>{''.join(children)}</header>"
    parts = [head, metadata.decode()] if order == "hm" else [metadata.decode(), head]
    doc = f'<record xmlns="{OAI_NS}">{"".join(parts)}</record>'.encode()
    return doc, {"own": doc, "other": b"<record>another</record>", "none": None}[received_kind]


def assert_c_record_matches(record, received) -> None:
    out = map_record(record, CROSSWALK, LIN, "u", received)
    rows = c_record(record, received, LIN.metadata_prefix, LIN.run_id, LIN.harvested_at, LIN.crosswalk_version)
    if rows is NotImplemented:   # only where map_record does something the fast path leaves to it
        header = record.find(f"{{{OAI_NS}}}header")
        metadata = record.find(f"{{{OAI_NS}}}metadata")
        fields = oai_dc._dc_fields(metadata) if metadata is not None and len(metadata) else None
        assert (out.values is None or out.deleted or received is None or header.get("status") is not None
                or out.values[0].encode() not in received
                or any(";" in name for name in (fields or {}).get("creator", ()))), etree.tostring(record)
    else:
        assert out.quarantine is None and not out.deleted
        assert rows == (out.values, out.raw_values)
        assert [type(x) for x in rows[0]] == [type(x) for x in out.values]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_oai_record())
def test_the_c_record_path_equals_map_record_on_generated_records(case):
    doc, received = case
    assert_c_record_matches(etree.fromstring(doc, _PARSER), received)


@PROPS
@given(metadata_payloads("oai_dc"))
def test_the_c_record_path_equals_map_record_on_random_and_mutated_metadata(metadata):
    record = etree.Element(f"{{{OAI_NS}}}record")
    header = etree.SubElement(record, f"{{{OAI_NS}}}header")
    etree.SubElement(header, f"{{{OAI_NS}}}identifier").text = "oai:x:9"
    etree.SubElement(header, f"{{{OAI_NS}}}datestamp").text = "2021-03-04T05:06:07Z"
    record.append(metadata)
    assert_c_record_matches(record, etree.tostring(record))


def test_the_c_record_path_gives_map_items_the_same_rows_in_the_same_order():
    """Every oai_dc page of the demo network and the captured responses, mapped with and without the
    C record path: the same (table, row) calls in the same order, the same counts."""
    from dataclasses import replace

    from harvest.oai.page import record_bytes

    bodies = [p.read_bytes() for p in sorted((DATA / "oai").glob("*.xml"))]
    from harvest.demo.provider import Provider
    for partner in PARTNERS:
        if "oai_dc" in partner.formats:
            bodies.append(Provider(partner, "http://127.0.0.1/oai").handle(
                {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]})[1])
    fast_rows = 0
    for body in bodies:
        try:
            page = parse_page(body, "fixture")
        except Exception:   # noqa: BLE001 - the broken fixtures are other tests' business
            continue
        got = {}
        for name, crosswalk in (("c", CROSSWALK), ("python", replace(CROSSWALK, record=None))):
            calls, result = [], PageResult("u")
            map_items(page.items, crosswalk, LIN, "u", lambda t, r: calls.append((t, r)), result, record_bytes(page))
            got[name] = (calls, result)
        assert got["c"] == got["python"]
        fast_rows += sum(1 for record, xml in zip(page.items, record_bytes(page) or [])
                         if xml is not None and c_record(record, xml, "oai_dc", "r", LIN.harvested_at, "v")
                         is not NotImplemented)
    assert fast_rows > 100   # the C path did map most of them


def test_the_c_record_path_keeps_reference_counts_and_memory_steady():
    import gc

    def rss_kb() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    cases = [(doc, doc) for doc in speedups._CHECK_RECORDS]
    cases += [(doc.replace(b"<header>", b'<header status="deleted">'), doc) for doc in speedups._CHECK_RECORDS[:1]]
    cases += [(doc, b"<record/>") for doc in speedups._CHECK_RECORDS[:1]]
    cases += [(doc.replace(b"2019-05-01", b"2019-02-30"), doc) for doc in speedups._CHECK_RECORDS[1:2]]
    cases += [(doc.replace(b"<dc:title>T</dc:title>", b""), doc) for doc in speedups._CHECK_RECORDS[:1]]
    parsed = [(etree.fromstring(doc), received) for doc, received in cases]
    results = [c_record(r, b, "p", "run", LIN.harvested_at, "v") for r, b in parsed]
    assert [x is NotImplemented for x in results] == [False, False, False, True, True, True, True]
    before = sys.getrefcount(None), sys.getrefcount(NotImplemented), sys.getrefcount(False)
    for _ in range(3000):
        for r, b in parsed:
            result = c_record(r, b, "p", "run", LIN.harvested_at, "v")
    del result
    assert (sys.getrefcount(None), sys.getrefcount(NotImplemented), sys.getrefcount(False)) == before
    gc.collect()
    start = rss_kb()
    for _ in range(20_000):
        for r, b in parsed:
            c_record(r, b, "p", "run", LIN.harvested_at, "v")
    gc.collect()
    assert rss_kb() - start < 2048
    with pytest.raises(TypeError):
        c_record(parsed[0][0], parsed[0][1], "too few")


def test_a_harvest_writes_the_same_rows_with_and_without_the_c_paths(tmp_path):
    """End to end, through the parse workers: the demo partners that serve oai_dc (quarantined
    and deleted records among them) harvested with every C path and with HARVEST_C_WALK=0 give
    the same records, raw and quarantine rows."""
    import json

    from harvest.demo import DemoNetwork

    code = """
import json, sys
from harvest.config import Source
from harvest.pipeline import run_source
from harvest.store import read_committed
out = {}
for pid, url in json.loads(sys.argv[2]).items():
    src = Source(id=pid, name=pid, region="europe", endpoint=url, metadata_prefix="oai_dc", window="none")
    report = run_source(src, sys.argv[1], parse_workers=2)
    rows = {}
    for table in ("records", "raw", "quarantine"):
        found = read_committed(sys.argv[1], table, pid)
        rows[table] = sorted(repr(sorted((k, v) for k, v in row.items()
                                         if k not in ("run_id", "harvested_at", "quarantined_at")))
                             for row in (found.to_pylist() if found is not None else []))
    out[pid] = [report.status, report.records, report.deleted, report.quarantined, rows]
print(json.dumps(out))
"""
    results = {}
    with DemoNetwork() as net:
        urls = json.dumps({p.id: net.url_for(p.id) for p in PARTNERS if "oai_dc" in p.formats})
        for switch in ("1", "0"):
            out = subprocess.run([sys.executable, "-c", code, str(tmp_path / switch), urls], capture_output=True,
                                 text=True, check=True, env={**os.environ, "HARVEST_C_WALK": switch},
                                 cwd=Path(__file__).resolve().parents[2])
            results[switch] = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["1"] == results["0"]
    assert len(results["1"]) >= 5
    assert sum(r[3] for r in results["1"].values()) > 0 and sum(r[2] for r in results["1"].values()) > 0
