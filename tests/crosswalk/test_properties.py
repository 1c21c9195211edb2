"""Property tests: whatever XML a crosswalk is handed, it returns a row that fits the records schema
or raises Unmappable, and `map_record` never raises.

(a) random trees built from each format's own element names, namespaces and attributes, and real
    records mutated at random; (b) real records truncated at any byte and parsed with recover=True;
(c) whole OAI <record>s with random headers and metadata through `map_record`.

Crosswalks sharing one function (oai_datacite, datacite, oai_openaire) are tested once, with the
vocabulary of all their formats. Formats another module registers (rif, marc21) are picked up
when importable. Example counts are modest so the file runs in seconds. Hypothesis keeps its
example database in .hypothesis/ (which carries its own .gitignore).
"""

from __future__ import annotations

import copy
import importlib
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from lxml import etree

import harvest.crosswalk.datacite  # noqa: F401  (registration side effect)
import harvest.crosswalk.oai_dc  # noqa: F401
from harvest.config.schemas import declared
from harvest.crosswalk import REGISTRY, Unmappable, get_crosswalk
from harvest.crosswalk.base import Crosswalk, local
from harvest.crosswalk.fieldmap import load_field_map
from harvest.demo.catalog import records_for
from harvest.demo.formats import SERIALISERS
from harvest.demo.partners import PARTNERS
from harvest.oai.page import OAI_NS
from harvest.records.rows import Lineage, map_record
from harvest.records.tables import ColumnBuffer
from tests.conftest import DATA

for _module in ("rif", "rifcs", "marc21", "marcxml"):  # crosswalks other modules may add
    try:
        importlib.import_module(f"harvest.crosswalk.{_module}")
    except ImportError:
        pass
try:
    get_crosswalk("oai_dc")  # registers whatever get_crosswalk knows about
except ImportError:  # a module get_crosswalk names is not there (yet)
    pass

PROPS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
# The descriptive fields a crosswalk returns: every records column but the header and lineage ones
# map_record adds (title .. related_identifiers, and whatever the schema adds to them later).
NOT_DESCRIPTIVE = {
    "source_id",
    "region",
    "oai_identifier",
    "datestamp",
    "deleted",
    "set_specs",
    "metadata_prefix",
    "run_id",
    "harvested_at",
    "crosswalk_version",
}
DESCRIPTIVE = [f["name"] for f in declared("records")["fields"] if f["name"] not in NOT_DESCRIPTIVE]
UTC = UTC
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_OAI = "{%s}" % OAI_NS


# ---- the crosswalks under test, one per function ------------------------------------------------


def _crosswalks() -> dict[str, object]:
    by_fn: dict[object, list] = {}
    for name, cw in sorted(REGISTRY.items()):
        if name.startswith("test_"):  # registered for a moment by other tests
            continue
        by_fn.setdefault(cw.fn, []).append(cw)
    out = {"+".join(c.name for c in cws): cws[0] for cws in by_fn.values()}
    qdc = load_field_map(DATA / "fieldmaps" / "dcterms.yaml", name="qdc")
    out["fieldmap-qdc"] = qdc
    return out


CROSSWALKS = _crosswalks()
NAMES = sorted(CROSSWALKS)


# ---- real samples: demo records in each format and the captured fixtures ------------------------


def _demo_documents() -> list[bytes]:
    """A few live (and broken) demo works per format, each wrapped in an OAI <metadata>."""
    docs = []
    for prefix, serialise in SERIALISERS.items():
        for p in [p for p in PARTNERS if prefix in p.formats][:2]:
            for r in [r for r in records_for(p.id) if not r.deleted][:6]:
                docs.append(
                    (f'<metadata xmlns="{OAI_NS}" xmlns:xsi="{XSI}">' + serialise(r.work, p) + "</metadata>").encode()
                )
    return docs


def _fixture_documents() -> list[bytes]:
    """Every XML file under tests/data: OAI-PMH responses as they are, bare payloads (rif, marc21
    fixtures) wrapped in <metadata> the way map_record hands them to a crosswalk."""
    docs = []
    for f in sorted(DATA.rglob("*.xml")):
        content = f.read_bytes()
        try:
            root = etree.fromstring(content)
        except etree.XMLSyntaxError:
            continue
        if root.tag in (_OAI + "OAI-PMH", _OAI + "metadata"):
            docs.append(content)
        else:
            md = etree.Element(_OAI + "metadata", nsmap={None: OAI_NS})
            md.append(root)
            docs.append(etree.tostring(md, encoding="utf-8"))
    return docs


def metadata_elements(root) -> list:
    """The <metadata> elements of a parsed document (the root itself when it is one, or has none)."""
    if root is None:
        return []
    if local(root.tag) == "metadata":
        return [root]
    found = list(root.iter(_OAI + "metadata"))
    return found or [root]


ALL_DOCUMENTS = _demo_documents() + _fixture_documents()


def _maps(cw, el) -> bool:
    try:
        cw.fn(el)
        return True
    except Exception:  # noqa: BLE001 - only choosing samples; test_every_sample_... checks them
        return False


def _samples_of(cw) -> list[bytes]:
    """The sample documents whose first record this crosswalk maps: its own format's samples."""
    out = []
    for doc in ALL_DOCUMENTS:
        try:
            root = etree.fromstring(doc)
        except etree.XMLSyntaxError:
            continue
        els = metadata_elements(root)
        if els and local(els[0].tag) == "metadata" and _maps(cw, els[0]):
            out.append(doc)
    return out


SAMPLES = {name: _samples_of(cw) for name, cw in CROSSWALKS.items()}


# ---- vocabulary per crosswalk: names, namespaces, attributes seen in its samples, plus extras ----

_EXTRA = {
    "marc": dict(
        names=["collection", "record", "leader", "controlfield", "datafield", "subfield"],
        namespaces=["http://www.loc.gov/MARC21/slim"],
        attributes=[
            ("tag", t)
            for t in (
                "001",
                "003",
                "008",
                "020",
                "022",
                "024",
                "035",
                "041",
                "100",
                "110",
                "245",
                "246",
                "260",
                "264",
                "300",
                "336",
                "500",
                "506",
                "520",
                "540",
                "650",
                "653",
                "655",
                "700",
                "710",
                "773",
                "856",
            )
        ]
        + [("code", c) for c in "abcdeghnopqtuvxyz2"]
        + [("ind1", i) for i in " 0127"]
        + [("ind2", i) for i in " 0147"]
        + [("type", "Bibliographic")],
    ),
    "rif": dict(
        names=[
            "registryObjects",
            "registryObject",
            "key",
            "originatingSource",
            "collection",
            "activity",
            "party",
            "service",
            "name",
            "namePart",
            "identifier",
            "location",
            "address",
            "electronic",
            "value",
            "description",
            "subject",
            "rights",
            "licence",
            "accessRights",
            "rightsStatement",
            "dates",
            "date",
            "relatedInfo",
            "relatedObject",
            "relation",
            "citationInfo",
            "citationMetadata",
            "publisher",
            "title",
            "contributor",
            "fullCitation",
            "coverage",
            "temporal",
        ],
        namespaces=["http://ands.org.au/standards/rif-cs/registryObjects"],
        attributes=[
            ("type", t)
            for t in (
                "doi",
                "handle",
                "uri",
                "url",
                "local",
                "dataset",
                "collection",
                "primary",
                "full",
                "brief",
                "dc.issued",
                "issued",
                "created",
                "anzsrc-for",
                "local",
                "text",
                "hasCollector",
                "isPartOf",
            )
        ]
        + [
            ("group", "ARDC"),
            ("dateFormat", "W3CDTF"),
            ("rightsUri", "https://creativecommons.org/licenses/by/4.0/"),
            ("target", "directDownload"),
            ("style", "APA"),
        ],
    ),
}
_COMMON_NAMES = ["metadata", "record", "x", "dc", "resource", "title", "identifier", "payload"]
_COMMON_NS = [None, "", "http://purl.org/dc/elements/1.1/", "http://datacite.org/schema/kernel-4", "urn:x-unknown"]
_COMMON_ATTRS = [("{%s}lang" % XML_NS, "en"), ("{%s}type" % XSI, "dcterms:URI"), ("type", "DOI")]


def _vocabulary(name: str) -> dict:
    names, namespaces, attributes = set(_COMMON_NAMES), set(_COMMON_NS), set(_COMMON_ATTRS)
    for doc in SAMPLES[name]:
        for md in metadata_elements(etree.fromstring(doc)):
            for el in md.iter():
                if not isinstance(el.tag, str):
                    continue
                qn = etree.QName(el)
                names.add(qn.localname)
                namespaces.add(qn.namespace)
                attributes.update(el.attrib.items())
    for key, extra in _EXTRA.items():
        if key in name:
            names.update(extra["names"])
            namespaces.update(extra["namespaces"])
            attributes.update(extra["attributes"])
    return {"names": sorted(names), "namespaces": sorted(namespaces, key=str), "attributes": sorted(attributes)}


VOCAB = {name: _vocabulary(name) for name in NAMES}


# ---- strategies ----------------------------------------------------------------------------------

INTERESTING = [
    "",
    " ",
    " \n\t ",
    "x",
    "10.1234/abc",
    "doi:10.5072/ABC.1",
    "https://doi.org/10.1/x",
    "DOI: 10.1234/a b",
    "info:doi/10.1234%2Fabc",
    "10.1234/%E0%A4%A",
    "%",
    "hdl:1/2",
    "http://hdl.handle.net/10.1/2",
    "20.500.12345/678",
    "ark:/12345/x",
    "https://n2t.net/ark:/12345/x",
    "urn:nbn:de:0000-1234",
    "arXiv:2101.00001v2",
    "arxiv:hep-th/9901001",
    "oai:arXiv.org:2101.0000",
    "CSTR:12345.11.abc",
    "https://example.org/landing",
    "http://",
    "https://orcid.org/0000-0002-1825-0097",
    "0000-0002-1825-009X",
    "2021",
    "2021-03-15",
    "c. 1998",
    "2100-12-31",
    "1499",
    "99999",
    "0",
    "-1",
    "1e10",
    "NaN",
    "eng",
    "en-GB",
    "EN_us",
    "中文",
    "xx",
    "zzz",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "CC0-1.0",
    "cc-by-4.0",
    "Apache License 2.0",
    "info:eu-repo/semantics/openAccess",
    "http://purl.org/coar/access_right/c_abf2",
    "http://purl.org/coar/resource_type/c_6501",
    "http://purl.org/coar/resource_type/c_ffff",
    "info:eu-repo/semantics/article",
    "Dataset",
    "journal article",
    "Smith, Jane",
    "Jane Smith",
    ",",
    "Smith,",
    ", Jane",
    "ORCID",
    "Issued",
    "Abstract",
    "IsPartOf",
    "\u200b",
    "\u00a0",
    "\u2028",
    "e\u0301",
    "\U0001f600",
    "\ud7ff",
    "\x85",
    "<&>\"'",
]
_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\t\n\r\x7f\x85\x9f")
TEXTS = st.one_of(  # short: drawing characters one by one is what makes hypothesis slow
    st.sampled_from(INTERESTING),
    st.sampled_from(INTERESTING),
    st.text(_CHARS, max_size=12),
    st.tuples(st.sampled_from(INTERESTING), st.text(_CHARS, max_size=4), st.sampled_from(INTERESTING)).map("".join),
)
OPT_TEXT = st.one_of(st.none(), TEXTS)
RANDOM_NAME = st.tuples(st.sampled_from("abcxyzAZ_"), st.text("abz09_.-\u00e9\u4e2d", max_size=5)).map("".join)


@cache
def _tag(name: str) -> st.SearchStrategy[str]:
    vocab = VOCAB[name]
    local_name = st.one_of(st.sampled_from(vocab["names"]), st.sampled_from(vocab["names"]), RANDOM_NAME)
    namespace = st.one_of(
        st.sampled_from(vocab["namespaces"]),
        st.sampled_from(vocab["namespaces"]),
        st.text("abz09_.-/", max_size=6).map(lambda n: f"http://example.org/ns/{n}"),
    )
    return st.builds(lambda ns, n: etree.QName(ns or None, n).text, namespace, local_name)


@cache
def _attribute(name: str) -> st.SearchStrategy[tuple[str, str]]:
    known = st.sampled_from(VOCAB[name]["attributes"])
    return st.one_of(known, st.tuples(known.map(lambda a: a[0]), TEXTS), st.tuples(RANDOM_NAME, TEXTS))


@cache
def _attributes(name: str) -> st.SearchStrategy[dict]:
    return st.one_of(st.just({}), st.lists(_attribute(name), min_size=1, max_size=2).map(dict))


def _comment_text(s: str) -> str:
    return s.replace("-", "_")  # '--' and a trailing '-' are not allowed in comments


_TAIL = st.one_of(st.none(), st.none(), st.none(), TEXTS)
_ONE_IN_TEN = st.integers(0, 9)
_ONE_IN_TWENTY = st.integers(0, 19)
MAX_DEPTH = 3


@cache
def trees(name: str, depth: int = 0) -> st.SearchStrategy:
    """Random elements with attributes, text, children (some of them comments) and tails.

    Strategies are built once per format and depth: building them on every draw is what makes
    hypothesis slow."""
    children = st.integers(0, 0 if depth >= MAX_DEPTH else 3 if depth == 0 else 2 if depth == 1 else 1)

    @st.composite
    def tree(draw):
        el = etree.Element(draw(_tag(name)), draw(_attributes(name)))
        el.text = draw(OPT_TEXT)
        for _ in range(draw(children)):
            if draw(_ONE_IN_TEN) == 0:
                child = etree.Comment(_comment_text(draw(TEXTS)))
            else:
                child = draw(trees(name, depth + 1))
            child.tail = draw(_TAIL)
            el.append(child)
        return el

    return tree()


_EDITS = st.sampled_from(["text", "tail", "attr", "delete", "insert", "duplicate", "clear"])


@cache
def mutated(name: str) -> st.SearchStrategy:
    """A real sample of the format with random edits: texts, attributes, deletions, insertions."""
    docs = st.sampled_from(SAMPLES[name])
    known_attribute = st.sampled_from(VOCAB[name]["attributes"])

    @st.composite
    def edit(draw):
        md = metadata_elements(etree.fromstring(draw(docs)))[0]
        for _ in range(draw(st.integers(1, 6))):
            els = [e for e in md.iter() if isinstance(e.tag, str)]
            el = els[draw(st.integers(0, len(els) - 1))]
            op = draw(_EDITS)
            if op == "text":
                el.text = draw(OPT_TEXT)
            elif op == "tail" and el is not md:
                el.tail = draw(OPT_TEXT)
            elif op == "attr":
                key, value = draw(known_attribute)
                el.set(key, draw(st.one_of(st.just(value), TEXTS)))
            elif op == "delete" and el is not md:
                el.getparent().remove(el)
            elif op == "insert":
                el.insert(draw(st.integers(0, len(el))), draw(trees(name, 2)))
            elif op == "duplicate" and el is not md:
                el.addnext(copy.deepcopy(el))
            elif op == "clear":
                el.clear()
        return md

    return edit()


def metadata_payloads(name: str):
    """A <metadata> element holding random trees, or a mutated real record of the format."""

    def wrap(children):
        md = etree.Element(_OAI + "metadata")
        md.extend(children)
        return md

    random_md = st.lists(trees(name), min_size=1, max_size=2).map(wrap)
    return st.one_of(random_md, mutated(name)) if SAMPLES[name] else random_md


# ---- the contract --------------------------------------------------------------------------------

HEADER = {
    "oai_identifier": "oai:test:1",
    "datestamp": datetime(2024, 1, 2, tzinfo=UTC),
    "deleted": False,
    "set_specs": ["s"],
    "metadata_prefix": "test",
    "run_id": "run-1",
    "harvested_at": datetime(2024, 1, 3, tzinfo=UTC),
    "crosswalk_version": "test/1",
}


def assert_fits_records(row: dict) -> None:
    """The row casts into the declared records schema and reads back unchanged."""
    buf = ColumnBuffer("records")
    buf.add(row)
    back = buf.take().to_pylist()[0]
    for key in buf.schema.names:
        assert back[key] == row.get(key), f"{key}: {row.get(key)!r} does not survive the records schema"


def _event(outcome: str) -> None:
    """What became of an example: see `pytest --hypothesis-show-statistics`."""
    if currently_in_test_context():
        event(outcome)


def check_contract(cw, metadata) -> dict | None:
    """A dict of exactly the descriptive fields, castable into the schema, or Unmappable."""
    try:
        row = cw.fn(metadata)
    except Unmappable as exc:
        assert isinstance(exc.reason, str) and exc.reason
        _event(f"unmappable: {exc.reason}")
        return None
    _event("row")
    assert isinstance(row, dict), type(row)
    assert sorted(row) == sorted(DESCRIPTIVE), sorted(set(row) ^ set(DESCRIPTIVE))
    assert_fits_records({**HEADER, **row})
    return row


def test_descriptive_fields_come_from_the_schema():
    assert DESCRIPTIVE[0] == "title" and "related_identifiers" in DESCRIPTIVE and "primary_pid" in DESCRIPTIVE
    assert set(NOT_DESCRIPTIVE) <= {f["name"] for f in declared("records")["fields"]}


@pytest.mark.parametrize("name", NAMES)
def test_every_crosswalk_maps_its_own_samples(name):
    """Sanity of the sample selection the truncation test relies on (rif/marc21 may have none yet)."""
    if name in ("oai_dc", "fieldmap-qdc") or "datacite" in name:
        assert SAMPLES[name], f"no sample maps with {name}"
    for doc in SAMPLES[name]:
        assert check_contract(CROSSWALKS[name], metadata_elements(etree.fromstring(doc))[0]) is not None


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_of_every_format_maps_or_is_unmappable(name):
    """Other formats' records (and every record of a multi-record page) keep the contract too."""
    for doc in ALL_DOCUMENTS:
        for md in metadata_elements(etree.fromstring(doc)):
            check_contract(CROSSWALKS[name], md)


# ---- (a) arbitrary XML ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=st.data())
def test_arbitrary_xml_maps_or_is_unmappable(name, data):
    check_contract(CROSSWALKS[name], data.draw(metadata_payloads(name), label="metadata"))


# ---- (b) truncated real records ------------------------------------------------------------------

_RECOVER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)


@pytest.mark.parametrize("name", [n for n in NAMES if SAMPLES[n]])
@PROPS
@given(data=st.data())
def test_truncated_records_map_or_are_unmappable(name, data):
    doc = data.draw(st.sampled_from(SAMPLES[name]), label="document")
    cut = data.draw(st.integers(0, len(doc)), label="cut at byte")
    try:
        root = etree.fromstring(doc[:cut], _RECOVER)
    except etree.XMLSyntaxError:  # nothing left to recover (e.g. an empty prefix)
        return
    for md in metadata_elements(root):
        check_contract(CROSSWALKS[name], md)


# ---- (c) whole records through map_record --------------------------------------------------------

_DATETIMES = st.one_of(  # years 1-9999: with an offset, UTC may fall outside them
    st.datetimes(), st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)])
)
_OFFSETS = st.sampled_from(["Z", "", "+00:00", "+01:00", "-05:00", "+14:00", "-12:00", "+05:30"])
DATESTAMPS = st.one_of(
    st.tuples(_DATETIMES, _OFFSETS).map(lambda t: t[0].strftime("%Y-%m-%dT%H:%M:%S") + t[1]),
    _DATETIMES.map(lambda d: d.strftime("%Y-%m-%d")),
    st.sampled_from(
        [
            "",
            " ",
            "2024-13-01",
            "2024-02-30",
            "yesterday",
            "2024-01-01T25:00:00Z",
            "２０２４-01-01",
            "2024-01-01T00:00:00.123456Z",
        ]
    ),
    TEXTS,
)


@st.composite
def oai_records(draw, name: str):
    record = etree.Element(_OAI + "record", nsmap={None: OAI_NS})
    if draw(_ONE_IN_TWENTY):  # mostly a usable header, sometimes not
        header = etree.SubElement(record, _OAI + "header")
        if draw(_ONE_IN_TEN) == 0:
            header.set("status", draw(st.sampled_from(["deleted", "Deleted", "", "x"])))
        if draw(_ONE_IN_TWENTY):
            etree.SubElement(header, _OAI + "identifier").text = (
                draw(OPT_TEXT) if draw(_ONE_IN_TWENTY) == 0 else "oai:test:1"
            )
        if draw(_ONE_IN_TWENTY):
            etree.SubElement(header, _OAI + "datestamp").text = (
                draw(st.one_of(st.none(), DATESTAMPS)) if draw(_ONE_IN_TEN) == 0 else "2024-05-06T07:08:09Z"
            )
        for spec in draw(st.lists(OPT_TEXT, max_size=2)):
            etree.SubElement(header, _OAI + "setSpec").text = spec
    if draw(_ONE_IN_TWENTY):
        record.append(draw(metadata_payloads(name)))
    if draw(_ONE_IN_TEN) == 0:
        etree.SubElement(record, _OAI + "about").text = draw(TEXTS)
    return record


LINEAGE = Lineage("src", "global", "test", "run-1", datetime(2024, 1, 3, tzinfo=UTC), "test/1")


def _fits(table: str, row: dict) -> None:
    buf = ColumnBuffer(table)
    buf.add(row)
    assert buf.take().num_rows == 1


def check_outcome(out) -> None:
    """A tombstone, or exactly one of a row and a quarantine entry; each fits its table."""
    if out.deleted:
        _event("deleted")
        assert out.row is not None and out.quarantine is None
        assert_fits_records(out.row)
        return
    assert (out.row is None) != (out.quarantine is None), out
    if out.row is not None:
        _event("row")
        assert_fits_records(out.row)
    else:
        q = out.quarantine
        _event(f"quarantined: {q['reason']}")
        assert q["reason"] != "crosswalk_error", f"the crosswalk raised: {q['detail']}"
        _fits("quarantine", q)
    if out.raw is not None:
        _fits("raw", out.raw)


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=st.data())
def test_map_record_never_raises(name, data):
    record = data.draw(oai_records(name), label="record")
    cw = CROSSWALKS[name]
    out = map_record(record, cw, LINEAGE, "https://example.org/oai?verb=ListRecords")
    check_outcome(out)
    # the harvester's path (finish()'s tuple, structs as tuples) and the dict a crosswalk written
    # the public way returns give the same outcome and the same Arrow rows
    assert cw.values is not None
    public = map_record(
        record, Crosswalk(cw.name, cw.version, cw.fn), LINEAGE, "https://example.org/oai?verb=ListRecords"
    )
    assert (out.row, out.raw, out.quarantine, out.deleted) == (
        public.row,
        public.raw,
        public.quarantine,
        public.deleted,
    )
    if out.values is not None:
        fast, slow = ColumnBuffer("records"), ColumnBuffer("records")
        fast.add(out.values)
        slow.add(public.values)
        assert fast.take().equals(slow.take())


def _record(datestamp: str) -> etree._Element:
    record = etree.fromstring(
        f'<record xmlns="{OAI_NS}"><header><identifier>oai:test:1</identifier>'
        "<datestamp/></header><metadata><x/></metadata></record>"
    )
    record.find(f"{_OAI}header/{_OAI}datestamp").text = datestamp
    return record


@PROPS
@given(DATESTAMPS)
def test_any_datestamp_is_read_or_quarantined(datestamp):
    """<metadata><x/></metadata> is no oai_dc: a readable header gives wrong_format, else bad_header;
    a readable datestamp before 1900 or after the harvest (beyond the skew) untrusted_datestamp."""
    out = map_record(_record(datestamp), CROSSWALKS["oai_dc"], LINEAGE, None)
    assert out.row is None and out.quarantine["reason"] in ("bad_header", "wrong_format", "untrusted_datestamp")
    if out.quarantine["reason"] == "untrusted_datestamp":
        assert out.raw is None and out.quarantine["oai_identifier"]
    if out.quarantine["reason"] == "wrong_format":
        assert out.raw["datestamp"].tzinfo is not None
        _fits("raw", out.raw)


@pytest.mark.parametrize("datestamp", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_map_record_survives_an_out_of_range_datestamp(datestamp):
    """Found by test_map_record_never_raises: parse_utc raises OverflowError (not ValueError) when
    the UTC conversion leaves years 1-9999; read_header must quarantine, not raise."""
    out = map_record(_record(datestamp), CROSSWALKS["oai_dc"], LINEAGE, None)
    assert out.row is None and out.quarantine["reason"] == "bad_header"


# ---- comments and processing instructions are markup, not content --------------------------------

_NOISE_TEXT = st.one_of(
    st.sampled_from(
        ["Not the title", "10.9999/from-a-comment", "https://example.org/c", "2099", "eng", "CC0-1.0", "Dataset"]
    ),
    TEXTS,
).map(_comment_text)


@st.composite
def with_comments(draw, name: str):
    """A real record of the format and a copy with comments and PIs inserted anywhere."""
    md = metadata_elements(etree.fromstring(draw(st.sampled_from(SAMPLES[name]))))[0]
    noisy = copy.deepcopy(md)
    els = [e for e in noisy.iter() if isinstance(e.tag, str)]
    for _ in range(draw(st.integers(1, 4))):
        el = els[draw(st.integers(0, len(els) - 1))]
        text_ = draw(_NOISE_TEXT)
        node = etree.Comment(text_) if draw(st.booleans()) else etree.ProcessingInstruction("pi", text_)
        el.insert(draw(st.integers(0, len(el))), node)
    return md, noisy


def _result(cw, md):
    try:
        return cw.fn(md)
    except Unmappable as exc:
        return ("unmappable", exc.reason)


@pytest.mark.parametrize("name", [n for n in NAMES if SAMPLES[n]])
@PROPS
@given(data=st.data())
def test_comments_and_pis_do_not_change_the_row(name, data):
    md, noisy = data.draw(with_comments(name), label="record, noisy copy")
    note(etree.tostring(noisy, encoding="unicode"))
    assert _result(CROSSWALKS[name], noisy) == _result(CROSSWALKS[name], md)


_DATACITE_WITH_COMMENTS = """<metadata><resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.1234/abcd</identifier>
  <titles><!-- exported by repository v2 --><title>Real title</title></titles>
  <subjects><?editor reviewed?><subject>Physics</subject></subjects>
</resource></metadata>"""


def test_datacite_ignores_comments():
    row = CROSSWALKS["datacite+oai_datacite+oai_openaire"].fn(etree.fromstring(_DATACITE_WITH_COMMENTS))
    assert (row["title"], row["subjects"]) == ("Real title", ["Physics"])


class _EveryTag(frozenset):
    def __contains__(self, item) -> bool:
        return True


@PROPS
@given(data=st.data())
def test_marc_skips_only_datafields_it_never_reads(data):
    """The MARC walk reads the subfields of the datafields in marc21.USED_FIELDS only: reading
    every datafield instead gives the same outcome on random and mutated records (their vocabulary
    holds unused tags: 035, 110, 246, 300, 500, 773, ...)."""
    from harvest.crosswalk import marc21

    name = next(n for n in NAMES if "marc21" in n.split("+"))
    metadata = data.draw(metadata_payloads(name), label="metadata")

    def outcome():
        try:
            return CROSSWALKS[name].values(metadata)
        except Unmappable as exc:
            return exc.reason

    narrow = outcome()
    saved, marc21.USED_FIELDS = marc21.USED_FIELDS, _EveryTag()
    try:
        wide = outcome()
    finally:
        marc21.USED_FIELDS = saved
    assert narrow == wide


def test_a_crosswalk_that_breaks_the_values_contract_is_quarantined_not_misplaced():
    """A `values=True` crosswalk must return finish()'s tuple. A dict of as many keys would unpack
    into the row as field *names*, and a tuple of another length would shift every column: both are
    quarantined as crosswalk errors instead. A dict crosswalk (values=False) that leaves a field
    out gets null there."""
    good = CROSSWALKS["oai_dc"]
    record = etree.fromstring(
        f'<record xmlns="{OAI_NS}"><header><identifier>oai:test:1</identifier><datestamp>2024-01-02</datestamp>'
        '</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>'
        "<dc:identifier>https://doi.org/10.1234/x</dc:identifier></oai_dc:dc></metadata></record>"
    )
    assert map_record(record, good, LINEAGE, None).row["primary_pid"] == "doi:10.1234/x"
    for wrong in (lambda md: good.fn(md), lambda md: good.values(md)[:-1], lambda md: list(good.values(md))):
        out = map_record(record, Crosswalk("broken", "broken/1", good.fn, wrong), LINEAGE, None)
        assert out.row is None and out.quarantine["reason"] == "crosswalk_error", out
        assert "broken" in out.quarantine["detail"] and out.raw["oai_identifier"] == "oai:test:1"
    partial = Crosswalk("partial", "partial/1", lambda md: {"title": "T", "identifiers": []})
    row = map_record(record, partial, LINEAGE, None).row
    assert row["title"] == "T" and row["publisher"] is None and row["creators"] is None
