"""Crosswalks declared as YAML field maps: the qdc example against values checked by hand in
tests/data/fieldmaps/qdc_getrecord.xml, the mapping rules, and every config error."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from lxml import etree

from harvest.crosswalk import Unmappable
from harvest.crosswalk.fieldmap import load_field_map
from harvest.errors import ConfigError, HarvestError
from harvest.records.rows import Lineage, map_record
from harvest.records.tables import ColumnBuffer
from tests.conftest import DATA

MAPS = DATA / "fieldmaps"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
QDC = 'xmlns:qdc="http://epubs.cclrc.ac.uk/xmlns/qdc/" xmlns:dcterms="http://purl.org/dc/terms/"'


def qdc_record():
    return etree.parse(str(MAPS / "qdc_getrecord.xml")).find(f".//{OAI}record")


def qdc(body: str):
    """A <metadata> element holding a qdc:qualifieddc with the given dcterms elements."""
    return etree.fromstring(f"<metadata><qdc:qualifieddc {QDC}>{body}</qdc:qualifieddc></metadata>")


def write_map(tmp_path, text: str, name: str = "partner.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dcterms():
    return load_field_map(MAPS / "dcterms.yaml")


# ---- the example map on the sample record ---------------------------------------------------------


def test_qdc_sample_maps_to_hand_checked_values(dcterms):
    row = dcterms.fn(qdc_record().find(f"{OAI}metadata"))
    assert row["title"] == "Neutron scattering study of layered perovskites"  # newline collapsed
    assert row["creators"] == [
        {"name": "Smith, Jane A.", "family_name": "Smith", "orcid": None, "affiliation": None},
        {"name": "Chidi Okonkwo", "family_name": "Okonkwo", "orcid": None, "affiliation": None},
    ]
    # dcterms:subject in order, the repeated one once, then dc:subject (the map's second XPath)
    assert row["subjects"] == ["Neutron scattering", "Perovskites", "Condensed matter"]
    # dcterms:abstract wins over dcterms:description (listed first), whitespace normalised
    assert row["description"] == "We report inelastic neutron scattering measurements on layered perovskites."
    assert row["publisher"] == "Science and Technology Facilities Council"
    assert row["publication_year"] == 2021  # dcterms:issued before dcterms:created (2019)
    assert row["resource_type"] == "Report"  # the eu-repo type before the DCMI "Text"
    assert row["language"] == "en"  # ISO 639-3 "eng"
    assert row["license"] == "CC-BY-4.0"  # the CC URL beats "Copyright the authors"
    assert row["identifiers"] == [
        {"scheme": "url", "value": "https://epubs.example.ac.uk/files/12345/report.pdf"},
        {"scheme": "doi", "value": "10.5072/epubs.12345"},
        {"scheme": "url", "value": "https://epubs.example.ac.uk/work/12345"},
    ]  # STFC-TR-2021-007 dropped
    assert row["primary_pid"] == "doi:10.5072/epubs.12345"
    assert row["landing_url"] == "https://epubs.example.ac.uk/work/12345"  # xsi:type dcterms:URI
    assert row["related_identifiers"] == [
        {"relation": "IsPartOf", "scheme": "doi", "value": "10.5072/series.7"},  # the series name dropped
        {"relation": "IsVersionOf", "scheme": "handle", "value": "20.500.12345/678"},
        {"relation": "References", "scheme": "arxiv", "value": "2101.00001"},
    ]
    if "originals" in row:  # what the partner wrote, where it changed
        for kept in (
            {"field": "identifier:doi", "value": "doi:10.5072/EPUBS.12345"},
            {"field": "resource_type", "value": "info:eu-repo/semantics/report"},
            {"field": "language", "value": "eng"},
            {"field": "license", "value": "https://creativecommons.org/licenses/by/4.0/"},
        ):
            assert kept in row["originals"]


def test_version_names_the_file_and_its_content(dcterms, tmp_path):
    content = (MAPS / "dcterms.yaml").read_bytes()
    assert dcterms.name == "dcterms"
    assert dcterms.version == f"fieldmap:dcterms.yaml:{hashlib.sha1(content).hexdigest()[:8]}"
    edited = tmp_path / "dcterms.yaml"
    edited.write_bytes(content + b"\n# a comment is an edit too\n")
    again = load_field_map(edited, name="qdc")
    assert again.name == "qdc" and again.version.startswith("fieldmap:dcterms.yaml:")
    assert again.version != dcterms.version


def test_a_field_map_row_goes_through_map_record_into_the_records_schema(dcterms):
    lin = Lineage("epubs", "europe", "qdc", "run-1", datetime(2026, 5, 4, tzinfo=UTC), dcterms.version)
    out = map_record(qdc_record(), dcterms, lin, "https://epubs.example.ac.uk/oai?verb=GetRecord")
    assert out.quarantine is None and out.row["oai_identifier"] == "oai:epubs.example.ac.uk:12345"
    assert out.row["set_specs"] == ["reports"] and out.row["crosswalk_version"] == dcterms.version
    buf = ColumnBuffer("records")
    buf.add(out.row)
    assert buf.take().to_pylist()[0]["primary_pid"] == "doi:10.5072/epubs.12345"


@pytest.mark.parametrize(
    "body, reason",
    [
        ("<dcterms:identifier>doi:10.1234/abc</dcterms:identifier>", "missing_title"),
        ("<dcterms:title>T</dcterms:title><dcterms:identifier>report 7</dcterms:identifier>", "missing_identifier"),
    ],
)
def test_records_without_the_minimum_are_unmappable(dcterms, body, reason):
    with pytest.raises(Unmappable) as exc:
        dcterms.fn(qdc(body))
    assert exc.value.reason == reason


def test_a_record_without_the_root_element_is_the_wrong_format(dcterms):
    with pytest.raises(Unmappable) as exc:
        dcterms.fn(
            etree.fromstring(
                '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"/></metadata>'
            )
        )
    assert exc.value.reason == "wrong_format" and "qdc:qualifieddc" in exc.value.detail


# ---- mapping rules ------------------------------------------------------------------------------


def test_without_root_xpaths_start_at_the_first_element_in_metadata(tmp_path):
    cw = load_field_map(
        write_map(
            tmp_path,
            """
fields:
  title: name
  identifiers: "@doi"
  creators: who/text()
  publication_year: "substring(when, 1, 4)"
""",
        )
    )
    md = etree.fromstring(
        '<metadata><!-- a comment first --><item doi="10.1234/xyz"><name> A  name </name>'
        "<who>Ng, Yi</who><who>Ada Lovelace</who><when>1843-10</when></item></metadata>"
    )
    row = cw.fn(md)
    assert row["title"] == "A name" and row["primary_pid"] == "doi:10.1234/xyz"
    assert [c["family_name"] for c in row["creators"]] == ["Ng", "Lovelace"]
    assert row["publication_year"] == 1843  # an XPath string function works too
    assert cw.fn(md[1]) == row  # handed the payload itself: same row


def test_single_valued_fields_take_the_first_value_their_normaliser_accepts(tmp_path):
    cw = load_field_map(
        write_map(
            tmp_path,
            """
namespaces: {dcterms: "http://purl.org/dc/terms/", qdc: "http://epubs.cclrc.ac.uk/xmlns/qdc/"}
root: qdc:qualifieddc
fields:
  title: [dcterms:alternative, dcterms:title]
  identifiers: dcterms:identifier
  language: dcterms:language
  publication_year: [dcterms:issued, dcterms:date]
  landing_url: dcterms:identifier
  license: dcterms:rights
""",
        )
    )
    row = cw.fn(
        qdc(
            "<dcterms:title>Main</dcterms:title><dcterms:language>Klingon</dcterms:language>"
            "<dcterms:language>spa</dcterms:language><dcterms:issued>n.d.</dcterms:issued>"
            "<dcterms:date>circa 1998</dcterms:date><dcterms:identifier>hdl:1234/5</dcterms:identifier>"
            "<dcterms:identifier>https://repo.example.org/5</dcterms:identifier>"
            "<dcterms:rights>info:eu-repo/semantics/openAccess</dcterms:rights>"
        )
    )
    assert row["title"] == "Main"  # no dcterms:alternative: the next XPath
    assert row["language"] == "es"  # "Klingon" is not recognised, "spa" is
    assert row["publication_year"] == 1998  # "n.d." has no year
    assert row["landing_url"] == "https://repo.example.org/5"  # the handle is no URL
    assert row["license"] is None  # an access right is no licence
    assert row["primary_pid"] == "handle:1234/5"


def test_related_identifiers_as_a_list_are_references(tmp_path):
    cw = load_field_map(
        write_map(
            tmp_path,
            """
namespaces: {dcterms: "http://purl.org/dc/terms/"}
fields:
  title: dcterms:title
  identifiers: dcterms:identifier
  related_identifiers: [dcterms:relation, dcterms:source]
""",
        )
    )
    row = cw.fn(
        qdc(
            "<dcterms:title>T</dcterms:title><dcterms:identifier>10.1234/a</dcterms:identifier>"
            "<dcterms:source>arXiv:2101.00001</dcterms:source>"
            "<dcterms:relation>https://doi.org/10.1234/B</dcterms:relation>"
        )
    )
    assert row["related_identifiers"] == [
        {"relation": "References", "scheme": "doi", "value": "10.1234/b"},
        {"relation": "References", "scheme": "arxiv", "value": "2101.00001"},
    ]


# ---- config errors --------------------------------------------------------------------------------

GOOD_FIELDS = "fields:\n  title: title\n  identifiers: identifier\n"


@pytest.mark.parametrize(
    "text, field, message",
    [
        ("namespaces: {}\n", "fields", "is required but missing"),
        ("fields: []\n", "fields", "non-empty mapping"),
        ("fields: {}\n", "fields", "non-empty mapping"),
        (GOOD_FIELDS + "  titel: x\n", "fields.titel", "is not a canonical field"),
        (GOOD_FIELDS + "  primary_pid: x\n", "fields.primary_pid", "chosen from 'identifiers'"),
        ("fields:\n  title: 'title[@a='\n  identifiers: identifier\n", "fields.title", "bad XPath 'title[@a='"),
        (GOOD_FIELDS + "  creators: [creator, 'dc:creator']\n", "fields.creators[1]", "bad XPath 'dc:creator'"),
        (GOOD_FIELDS + "  subjects: 'nosuch:fn(.)'\n", "fields.subjects", "bad XPath"),
        (GOOD_FIELDS + "  subjects: []\n", "fields.subjects", "non-empty list"),
        (GOOD_FIELDS + "  subjects:\n", "fields.subjects", "got nothing"),
        (GOOD_FIELDS + "  subjects: 42\n", "fields.subjects", "expected an XPath string, got 42"),
        (GOOD_FIELDS + "  subjects: [subject, {a: b}]\n", "fields.subjects[1]", "expected an XPath string"),
        (
            GOOD_FIELDS + "  related_identifiers: {is part of: x}\n",
            "fields.related_identifiers.is part of",
            "not a relation type name",
        ),
        (GOOD_FIELDS + "  related_identifiers: {IsPartOf: 'x['}\n", "fields.related_identifiers.IsPartOf", "bad XPath"),
        ("fields:\n  identifiers: identifier\n", "fields.title", "is required"),
        ("fields:\n  title: title\n", "fields.identifiers", "is required"),
        ("root: 'qdc:qualifieddc'\n" + GOOD_FIELDS, "root", "bad XPath 'qdc:qualifieddc'"),
        ("namespaces: [dc]\n" + GOOD_FIELDS, "namespaces", "expected a mapping"),
        (
            "namespaces: {'1dc': 'http://purl.org/dc/elements/1.1/'}\n" + GOOD_FIELDS,
            "namespaces.1dc",
            "not a usable namespace prefix",
        ),
        ("namespaces: {dc: ''}\n" + GOOD_FIELDS, "namespaces.dc", "expected a namespace URI"),
        ("crosswalk: x\n" + GOOD_FIELDS, "crosswalk", "is not a known key"),
        ("description: abstract\n" + GOOD_FIELDS, "description", "did you mean fields.description?"),
    ],
)
def test_config_errors_name_the_file_and_the_field(tmp_path, text, field, message):
    path = write_map(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_field_map(path)
    assert exc.value.path == str(path) and exc.value.field == field
    assert message in str(exc.value) and str(path) in str(exc.value) and f"'{field}'" in str(exc.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("fields: [\n", "not valid YAML at line 2"),
        ("- title\n- identifiers\n", "expected a mapping with 'fields', got list"),
        ("", "expected a mapping with 'fields', got NoneType"),
    ],
)
def test_unreadable_maps_name_the_file(tmp_path, text, message):
    path = write_map(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_field_map(path)
    assert exc.value.field is None and message in str(exc.value) and str(path) in str(exc.value)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read") as exc:
        load_field_map(tmp_path / "nowhere.yaml")
    assert isinstance(exc.value, HarvestError) and exc.value.path == str(tmp_path / "nowhere.yaml")


def test_iso19115_3_from_terns_real_catalogue():
    """TERN's GeoNetwork (ISO 19115-3) through a field map only: every one of its 10 records maps."""
    crosswalk = load_field_map(MAPS / "iso19115-3.yaml")
    tree = etree.parse(str(DATA / "crosswalk" / "tern_iso19115-3_listrecords.xml"))
    records = tree.findall(".//{http://www.openarchives.org/OAI/2.0/}record")
    lin = Lineage("tern", "australia", "iso19115-3", "r", datetime(2026, 1, 1, tzinfo=UTC), crosswalk.version)
    outcomes = [map_record(r, crosswalk, lin, None) for r in records]
    assert len(outcomes) == 10 and all(o.row is not None for o in outcomes)
    first = outcomes[0].row
    assert first["title"] == "TERN OzFlux Cumberland Plain Tower Data Service"
    assert (first["resource_type"], first["language"], first["license"]) == ("Service", "en", "CC-BY-4.0")
    assert first["publication_year"] == 2018
    assert first["publisher"] == "Terrestrial Ecosystem Research Network (TERN)"
    assert (
        first["landing_url"]
        == "https://dap.tern.org.au/thredds/catalog/ecosystem_process/ozflux/CumberlandPlain/catalog.html"
    )
    assert {"Environmental Monitoring", "SOIL SCIENCES"} <= set(first["subjects"])
    assert first["description"].startswith("This service provides access to ecosystem flux dat")
