"""Crosswalks on real captured responses, against values checked by hand in the XML."""

from __future__ import annotations

import pytest
from lxml import etree

from harvest.crosswalk import Unmappable, get_crosswalk
from harvest.demo.catalog import records_for
from harvest.demo.formats import SERIALISERS
from harvest.demo.partners import PARTNERS
from tests.conftest import fixture_metadata, fixture_payload

ZENODO_DOI = "doi:10.5281/zenodo.10357859"


def test_zenodo_datacite():
    row = get_crosswalk("oai_datacite").fn(fixture_metadata("zenodo_getrecord_datacite.xml"))
    assert row["title"] == "Research Data Management Organiser (RDMO)"
    assert len(row["creators"]) == 9
    assert row["creators"][0] == {
        "name": "Klar, Jochen",
        "family_name": "Klar",
        "orcid": "0000-0002-5883-4273",
        "affiliation": None,
    }
    assert row["creators"][6]["family_name"] == "Martínez Muñoz" and row["creators"][6]["orcid"] is None
    assert row["primary_pid"] == ZENODO_DOI
    assert (row["publication_year"], row["resource_type"], row["license"]) == (2023, "Software", "Apache-2.0")
    assert row["publisher"] == "Zenodo" and row["language"] is None
    assert {"relation": "IsVersionOf", "scheme": "doi", "value": "10.5281/zenodo.596581"} in row["related_identifiers"]


def test_zenodo_oai_dc():
    row = get_crosswalk("oai_dc").fn(fixture_metadata("zenodo_getrecord_oai_dc.xml"))
    assert row["title"] == "Research Data Management Organiser (RDMO)"
    assert [c["family_name"] for c in row["creators"]][:3] == ["Klar", "Michaelis", "Wallace"]
    assert row["primary_pid"] == ZENODO_DOI
    assert (row["publication_year"], row["license"], row["resource_type"]) == (2023, "Apache-2.0", "Other")


def test_datacite_oai_wrapper_from_viringo():
    row = get_crosswalk("oai_datacite").fn(fixture_metadata("viringo_getrecord_oai_datacite.xml"))
    assert row["title"] == "This is a fake DOI with fake metadata."
    assert [(c["family_name"], c["orcid"], c["affiliation"]) for c in row["creators"]] == [
        ("Fenner", "0000-0003-1419-2405", "DataCite"),
        ("Hallett", "0000-0002-8599-0773", "DataCite"),
    ]
    assert row["primary_pid"] == "doi:10.5072/not-a-real-doi"
    assert (row["publication_year"], row["resource_type"], row["subjects"]) == (2018, "Text", ["datacite"])


def test_same_record_in_two_formats_gives_the_same_pids():
    a = get_crosswalk("oai_datacite").fn(fixture_metadata("viringo_getrecord_oai_datacite.xml"))
    b = get_crosswalk("oai_dc").fn(fixture_metadata("viringo_getrecord_oai_dc.xml"))
    assert a["identifiers"] == b["identifiers"] and a["primary_pid"] == b["primary_pid"]


@pytest.mark.parametrize("partner", [p for p in PARTNERS if len(p.formats) > 1], ids=lambda p: p.id)
def test_demo_works_map_to_the_same_pids_in_every_format(partner):
    """Whatever the format (and the partner's DOI spelling), a work keeps its normalised PIDs."""
    ns = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    for record in [r for r in records_for(partner.id) if not r.deleted and r.work.title][:40]:
        pids = []
        for prefix in partner.formats:
            xml = f"<metadata {ns}>{SERIALISERS[prefix](record.work, partner)}</metadata>"
            row = get_crosswalk(prefix).fn(etree.fromstring(xml))
            pids.append({(i["scheme"], i["value"]) for i in row["identifiers"] if i["scheme"] != "url"})
            assert row["title"] == record.work.title
        assert all(p == pids[0] for p in pids), record.oai_id
        if record.work.doi:
            assert ("doi", record.work.doi) in pids[0]


@pytest.mark.parametrize(
    "xml, reason",
    [
        (
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier>10.1/x</dc:identifier></oai_dc:dc>',
            "missing_title",
        ),
        (
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title></oai_dc:dc>',
            "missing_identifier",
        ),
        ("<something-else/>", "wrong_format"),
    ],
)
def test_unmappable_records_say_why(xml, reason):
    with pytest.raises(Unmappable) as exc:
        get_crosswalk("oai_dc").fn(etree.fromstring(f"<metadata>{xml}</metadata>"))
    assert exc.value.reason == reason


def test_ojs_oai_dc_as_served_by_a_real_journal():
    """OJS (served through DSpace's xoai test suite): role text in dc:creator, a '.' description,
    a journal ISSN in dc:source and two long copyright statements in dc:rights."""
    row = get_crosswalk("oai_dc").fn(fixture_metadata("ojs_getrecord_oai_dc.xml"))
    assert row["title"] == "Editorial"
    assert row["creators"] == [
        {
            "name": "Laíns, Jorge",
            "family_name": "Laíns",
            "orcid": None,
            "affiliation": "Presidente da Direção da SPMFR Diretor da Revista da SPMFR",
        }
    ]
    assert row["description"] is None and row["license"] is None
    assert (row["publication_year"], row["resource_type"], row["language"]) == (2013, "JournalArticle", "pt")
    assert row["primary_pid"] is None
    assert row["landing_url"] == "http://spmfrjournal.org/index.php/spmfr/article/view/88"
    assert {"relation": "IsPartOf", "scheme": "issn", "value": "0872-9204"} in row["related_identifiers"]
    assert {"field": "language", "value": "por"} in row["originals"]
    assert {"field": "resource_type", "value": "info:eu-repo/semantics/article"} in row["originals"]


def test_originals_keep_what_normalisation_changed():
    row = get_crosswalk("oai_dc").fn(fixture_metadata("zenodo_getrecord_oai_dc.xml"))
    assert {"field": "identifier:doi", "value": "https://doi.org/10.5281/zenodo.10357859"} in row["originals"]
    assert {"field": "license", "value": "Apache License 2.0"} in row["originals"]  # first of the two
    assert not [o for o in row["originals"] if o["field"] == "title"]


def test_openaire_thesis():
    row = get_crosswalk("oai_openaire").fn(fixture_payload("openaire_thesis.xml"))
    assert row["title"] == "Dinámica glaciar en los Andes centrales"  # not the translated title
    assert row["creators"] == [
        {
            "name": "Quispe Mamani, Rosa",
            "family_name": "Quispe Mamani",
            "orcid": "0000-0002-1825-0097",
            "affiliation": "Universidad de Chile",
        }
    ]
    assert row["primary_pid"] == "doi:10.5072/uchile.thesis.4321"
    assert {"scheme": "handle", "value": "20.500.12008/4321"} in row["identifiers"]
    assert (row["publication_year"], row["resource_type"], row["language"], row["license"]) == (
        2021,
        "Dissertation",
        "es",
        "CC-BY-NC-SA-4.0",
    )
    assert row["related_identifiers"] == [
        {"relation": "IsSupplementedBy", "scheme": "doi", "value": "10.5072/glacier.data.7"}
    ]
    assert row["subjects"] == ["glaciología", "551.31"]


def test_arxiv_style_oai_dc():
    row = get_crosswalk("oai_dc").fn(fixture_payload("arxiv_oai_dc.xml"))
    assert {(i["scheme"], i["value"]) for i in row["identifiers"]} == {
        ("arxiv", "2101.01234"),
        ("doi", "10.5072/tpc.2021.0042"),
    }
    assert row["primary_pid"] == "doi:10.5072/tpc.2021.0042"  # DOI preferred over arXiv id
    assert row["landing_url"] == "https://doi.org/10.5072/tpc.2021.0042"
    assert row["description"].startswith("We estimate carbon") and "\n" not in row["description"]
    assert (row["publication_year"], row["resource_type"]) == (2021, "Text")


def test_datacite_kernel3_in_the_oai_10_wrapper():
    row = get_crosswalk("oai_datacite").fn(fixture_payload("datacite_kernel3_oai10.xml"))
    assert row["title"] == "Series temporales de temperatura del Mediterráneo"
    assert row["creators"][0]["orcid"] == "0000-0002-1825-0097"
    assert row["primary_pid"] == "doi:10.5072/digital.csic.99"
    assert {"scheme": "handle", "value": "10261/99999"} in row["identifiers"]
    assert (row["publication_year"], row["resource_type"], row["language"], row["license"]) == (
        2016,
        "Dataset",
        "es",
        "CC-BY-4.0",
    )
