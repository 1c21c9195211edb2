"""RIF-CS crosswalk on ARDC's registry test records and one written record, against values read in the XML."""

from __future__ import annotations

import pytest

from harvest.crosswalk import Unmappable, get_crosswalk
from harvest.crosswalk.rif import plain
from tests.conftest import fixture_payload


def rif(name: str) -> dict:
    return get_crosswalk("rif").fn(fixture_payload(name))


def test_collection_with_all_elements():
    row = rif("ands_collection_all_elements.xml")
    assert row["title"] == "Collection with all RIF v1.6 elements (primaryName)"  # primary, not abbreviated
    # The only contributor has one namePart, typed "given": there is no family name to put first.
    assert [c["name"] for c in row["creators"]] == ["Joe Blogs"]
    # Escaped twice in the XML (&amp;lt;p&amp;gt;): the brief description, as plain text.
    assert row["description"] == " ".join(["brief"] * 16)
    assert row["subjects"] == ["localSubject", "830201", "0303", "au-anl:peau subject", "0000-0000-0001"]
    assert row["publisher"] == "Some Example Publisher"
    # citationMetadata/date "12-12-2001" comes before dates[@type="dc.issued"] 2022-03-03.
    assert (row["publication_year"], row["resource_type"], row["language"]) == (2001, "Collection", None)
    # Licences: rightsUri http://www.rightsuri.com, texts "LicenceLicenceLicence" and "CC-BY" (no version,
    # so no SPDX id): the URL wins.
    assert row["license"] == "http://www.rightsuri.com"
    # AU-ANL:PEAU ids name catalogue entries; "10.123123123" has no suffix, so is no DOI; the
    # directDownload URL is a file. Only the landing page is left.
    assert row["identifiers"] == [{"scheme": "url", "value": "https://demo.ands.org.au"}]
    assert row["primary_pid"] is None and row["landing_url"] == "https://demo.ands.org.au"
    assert row["related_identifiers"] == [
        {"relation": "References", "scheme": "url", "value": "http://www.smithy.com"},
        {"relation": "References", "scheme": "url", "value": "http://exampleofreuse.com"},
    ]


def test_dataset_with_related_publication():
    row = rif("ands_collection_scholix.xml")
    assert row["title"].startswith("(AUTestingRecords) Collection to test Related Object popout")
    assert (row["resource_type"], row["language"]) == ("Dataset", "en")  # type="dataset", xml:lang
    assert row["description"].startswith("Rainforest vertebrates have been monitored")
    assert row["description"].endswith("and mammals (spotlighting).")  # brief, not full
    assert row["subjects"][:3] == ["Australian Wet Tropics", "environmental data", "microclimate"]
    assert row["license"] == "http://creativecommons.org/licenses/by-nc/3.0/au"  # a port: no SPDX id
    # No citationMetadata and no dc.* dates: the accession date and the coverage are not publication years.
    assert (row["publication_year"], row["publisher"], row["creators"]) == (None, "AUTestingRecords", [])
    # identifier type="local" is not a PID; the electronic URL values carry newlines and indentation.
    assert [i["value"] for i in row["identifiers"]] == [
        "https://research.jcu.edu.au/researchdata/default/detail/38ff8824ca8bb4352f93c3505c673290",
        "https://research.jcu.edu.au/enmasse/1248/data",
    ]
    # type="uri" holding a dx.doi.org URL is a DOI; the party's ORCID is not a related work.
    assert row["related_identifiers"][0] == {
        "relation": "References",
        "scheme": "doi",
        "value": "10.1890/09-1069.1aut234.3.ods",
    }
    assert len(row["related_identifiers"]) == 2


def test_coverage_dates_are_not_the_publication_year():
    row = rif("ands_rif_date_test.xml")
    assert row["publication_year"] is None
    assert row["description"].startswith("A collection of over 100 items")  # full is empty
    assert row["subjects"] == ["Adolescents", "Youth"]
    assert [i["value"] for i in row["identifiers"]] == [
        "http://colsearch.nfsa.gov.au/nfsa/search/summary/summary.w3p;adv=yes;group=;groupequals=;page=810AUT7a",
        "http://museumex.maas.museum/oai/nfsa/2807",
    ]


def test_service_with_doi_and_html_description():
    row = rif("ands_service_quality.xml")
    assert (row["title"], row["resource_type"]) == ("(AUTestingRecords)PetaJakarta Web", "Service")
    assert row["primary_pid"] == "doi:10.5281/zenodo.33783aut"
    assert row["landing_url"] == "https://petajakarta.org/banjir/en/"
    assert row["description"].startswith("Web files for PetaJakarta.org petajakarta.org/banjir is an open source,")
    assert "<" not in row["description"]
    assert row["license"] == "GNU General Public License"  # licence type="GPL", no version: text
    # Three relatedInfo elements name the same URL: one related identifier.
    assert [r["value"] for r in row["related_identifiers"]] == [
        "https://smart-metadata.eis.uow.edu.au/geonetwork/srv/eng/search?&uuid=e33bc002-cc72-42c9-8b5d-8f64d97a168fAUT"
    ]


def test_party_maps_as_other():
    row = rif("ands_party_DCI.xml")
    assert (row["title"], row["resource_type"]) == ("(AUTestingRecords3) AUTestingRecords3:Funder", "Other")
    # identifier type="doi" "AUTestingRecords3:FunderDCI" is not a DOI; fundref / AU-ANL:PEAU are not work PIDs.
    assert row["identifiers"] == [{"scheme": "url", "value": "http://www.environment.gov.au/webform/website-feedback"}]


def test_written_dataset_record():
    row = rif("rif_dataset_doi.xml")
    assert row["title"] == "Soil moisture observations from the Tasmanian Midlands, 2017-2019"
    # contributors come seq="2" then seq="1"; namePart family/given in either order.
    assert [(c["name"], c["family_name"]) for c in row["creators"]] == [
        ("Smith, Jane", "Smith"),
        ("Nguyen, Liam", "Nguyen"),
    ]
    assert row["description"] == "Daily soil moisture at 12 sites in the Tasmanian Midlands."
    assert (row["publisher"], row["publication_year"]) == ("University of Tasmania", 2019)
    assert (row["resource_type"], row["language"], row["license"]) == ("Dataset", "en", "CC-BY-4.0")
    assert row["identifiers"] == [
        {"scheme": "doi", "value": "10.5072/utas.sm.2019"},
        {"scheme": "handle", "value": "102.100.100/48213"},
        {"scheme": "url", "value": "https://data.utas.edu.au/metadata/soil-moisture-2019"},
    ]
    assert row["primary_pid"] == "doi:10.5072/utas.sm.2019"
    assert row["related_identifiers"] == [
        {"relation": "IsCitedBy", "scheme": "doi", "value": "10.5072/utas.paper.77"},
        {"relation": "References", "scheme": "url", "value": "https://midlands.utas.example/network"},
    ]


def test_same_work_in_rif_and_oai_dc_gives_the_same_pids():
    a = rif("rif_dataset_doi.xml")
    b = get_crosswalk("oai_dc").fn(fixture_payload("rif_dataset_doi_oai_dc.xml"))
    assert a["identifiers"] == b["identifiers"] and a["primary_pid"] == b["primary_pid"]
    assert (a["title"], a["publication_year"], a["license"]) == (b["title"], b["publication_year"], b["license"])


@pytest.mark.parametrize(
    "name, reason",
    [
        ("ands_collection_no_title.xml", "missing_title"),
        ("ands_collection_empty_identifier.xml", "missing_identifier"),  # <identifier></identifier> is skipped
        ("ands_collection_minimal.xml", "missing_identifier"),  # a registry key is not an identifier
        ("rif_dataset_doi_oai_dc.xml", "wrong_format"),
    ],
)
def test_unmappable_records_say_why(name, reason):
    with pytest.raises(Unmappable) as exc:
        rif(name)
    assert exc.value.reason == reason


def test_both_prefixes_are_registered():
    assert get_crosswalk("rif-cs").fn is get_crosswalk("rif").fn


@pytest.mark.parametrize(
    "value, expected",
    [
        ("&lt;p&gt;one&lt;/p&gt;&lt;p&gt;two&lt;/p&gt;", "one two"),
        ("<p>H<sub>2</sub>O &amp; soil</p>", "H2O & soil"),
        ("p < 0.05 and q > 1", "p < 0.05 and q > 1"),
        ("", None),
    ],
)
def test_plain(value, expected):
    assert plain(value) == expected
