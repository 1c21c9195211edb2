"""MARCXML crosswalk on records written for these tests, against values read in the XML."""

from __future__ import annotations

import pytest
from lxml import etree

from harvest.crosswalk import Unmappable, get_crosswalk
from harvest.crosswalk.marc21 import chop
from tests.conftest import fixture_payload

MARC = "http://www.loc.gov/MARC21/slim"


def marc(name: str) -> dict:
    return get_crosswalk("marc21").fn(fixture_payload(name))


def inline(leader: str = "00000nam a2200000 i 4500", f008: str = "", fields: str = "") -> dict:
    """Map a record built from a leader, an 008 and datafield XML; 245 and 856 are added when missing."""
    if 'tag="245"' not in fields:
        fields += '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">T.</subfield></datafield>'
    if 'tag="856"' not in fields:
        fields += '<datafield tag="856" ind1="4" ind2="0"><subfield code="u">https://r.example/1</subfield></datafield>'
    xml = (
        f'<metadata><record xmlns="{MARC}"><leader>{leader}</leader>'
        f'<controlfield tag="008">{f008}</controlfield>{fields}</record></metadata>'
    )
    return get_crosswalk("marcxml").fn(etree.fromstring(xml))


def test_thesis_with_orcid_and_handle():
    row = marc("marc21_thesis_handle.xml")
    assert row["title"] == "Smallholder dairy adoption in central Kenya : a mixed-methods study"
    # The thesis advisor (700 $e "thesis advisor.") contributed but is not a creator.
    assert row["creators"] == [
        {
            "name": "Wanjiru, Grace Njeri",
            "family_name": "Wanjiru",
            "orcid": "0000-0002-1825-0097",
            "affiliation": "University of Nairobi",
        }
    ]
    assert row["subjects"] == ["Dairy farming", "Agricultural innovations", "smallholders"]
    assert row["description"].startswith("Examines why smallholder farmers in Kiambu")
    # 264 _1 $c "2021." is the publication; 264 _4 $c "©2020" is only a copyright date.
    assert (row["publisher"], row["publication_year"]) == ("University of Nairobi", 2021)
    assert (row["resource_type"], row["language"], row["license"]) == ("Dissertation", "en", "CC-BY-4.0")
    # 024 7_ $2 hdl and the 856 hdl.handle.net URL are one handle; the 856 4 2 table of contents is not the work.
    assert row["identifiers"] == [{"scheme": "handle", "value": "10568/113001"}]
    assert row["primary_pid"] == "handle:10568/113001"
    assert row["landing_url"] == "https://hdl.handle.net/10568/113001"


def test_dataset_with_doi():
    row = marc("marc21_dataset_doi.xml")  # inside a MARCXML <collection>
    assert row["title"] == "Humedad del suelo en el altiplano de Puno, 2018-2020 : conjunto de datos"
    assert [(c["family_name"], c["orcid"]) for c in row["creators"]] == [
        ("Quispe Mamani", "0000-0001-7364-4200"),  # $0 (orcid)...
        ("Torres", "0000-0003-4815-9275"),
    ]  # $1 https://orcid.org/...
    assert row["creators"][1]["name"] == "Torres, Miguel A."
    assert row["resource_type"] == "Dataset"  # Leader/06 m, 008/26 a (numeric data)
    assert (row["publisher"], row["publication_year"]) == (None, 2020)  # "[publisher not identified]", "[2020]"
    assert (row["language"], row["license"]) == ("es", "CC0-1.0")  # 041 $a "spaeng"
    assert row["subjects"] == ["Soil moisture"]
    # 024 8_ is a local number and 022 the ISSN of a series; the upper-case doi.org URL in 856 is the same DOI.
    assert row["identifiers"] == [{"scheme": "doi", "value": "10.5072/fk2.marc.0042"}]
    assert all(r["relation"] == "IsPartOf" for r in row["related_identifiers"])
    assert row["landing_url"] == "https://doi.org/10.5072/fk2.marc.0042"


def test_russian_monograph():
    row = marc("marc21_russian_monograph.xml")
    assert row["title"] == "Гидрология малых рек Сибири : монография"
    assert row["creators"] == [
        {
            "name": "Петров, И. В.",
            "family_name": "Петров",
            "orcid": None,
            "affiliation": "Томский государственный университет",
        }
    ]
    assert row["publisher"] == "Издательство Томского университета"
    assert (row["publication_year"], row["language"], row["resource_type"]) == (2018, "ru", "Text")  # from 008
    assert row["subjects"] == ["Гидрология", "малые реки"]
    assert row["primary_pid"] == "doi:10.5072/tsu.2018.812"  # a DOI comes before an ISBN
    assert {"scheme": "doi", "value": "10.5072/tsu.2018.812"} in row["identifiers"]
    assert row["landing_url"] == "https://vital.lib.tsu.example/vital/access/manager/Repository/vtls:000812"


def test_same_work_in_marc21_and_oai_dc_gives_the_same_pids():
    a = marc("marc21_thesis_handle.xml")
    b = get_crosswalk("oai_dc").fn(fixture_payload("marc21_thesis_handle_oai_dc.xml"))
    assert a["identifiers"] == b["identifiers"] and a["primary_pid"] == b["primary_pid"]
    assert (a["publication_year"], a["resource_type"], a["license"]) == (2021, "Dissertation", "CC-BY-4.0")
    assert (b["publication_year"], b["resource_type"], b["license"]) == (2021, "Dissertation", "CC-BY-4.0")


@pytest.mark.parametrize(
    "leader, f008, expected",
    [
        ("00000ntm a2200000 i 4500", "", "Text"),
        ("00000nem a2200000 i 4500", "", "Image"),  # map
        ("00000ngm a2200000 i 4500", "", "Audiovisual"),  # video
        ("00000njm a2200000 i 4500", "", "Sound"),
        ("00000nrm a2200000 i 4500", "", "PhysicalObject"),
        ("00000nmm a2200000 i 4500", "200611s2020    xx            b        eng d", "Software"),
        ("00000nmm a2200000 i 4500", "", "Software"),  # no 008 to say which kind of file
        ("00000nam a2200000 i 4500", "210315s2021    ke a    om    000 0 eng d", "Dissertation"),  # 008/24 m
        ("bad", "", None),
    ],
)
def test_resource_type_from_leader(leader, f008, expected):
    assert inline(leader, f008)["resource_type"] == expected


@pytest.mark.parametrize(
    "genre, expected",
    [
        ("Academic theses.", "Dissertation"),
        ("Dissertations, Academic.", "Dissertation"),
        ("Thesauri (Dictionaries)", "Text"),
    ],
)
def test_thesis_from_genre(genre, expected):
    field = f'<datafield tag="655" ind1=" " ind2="7"><subfield code="a">{genre}</subfield></datafield>'
    assert inline(fields=field)["resource_type"] == expected


@pytest.mark.parametrize(
    "f008, fields, expected",
    [
        ("", '<datafield tag="041" ind1="0" ind2=" "><subfield code="a">rusger</subfield></datafield>', "ru"),
        ("181120s2018    ru            000 0 und d", "", None),  # undetermined
        ("181120s2018    ru            000 0 rus d", "", "ru"),
        ("181120s2018", "", None),  # a truncated 008
    ],
)
def test_language(f008, fields, expected):
    assert inline(f008=f008, fields=fields)["language"] == expected


def test_year_falls_back_to_008_and_orcid_checksum_is_checked():
    row = inline(
        f008="181120s1998    ru            000 0 rus d",
        fields=(
            '<datafield tag="260" ind1=" " ind2=" "><subfield code="b">Nauka,</subfield></datafield>'
            '<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Ivanov, Ivan,</subfield>'
            '<subfield code="1">https://orcid.org/0000-0002-1825-0098</subfield></datafield>'
        ),
    )
    assert (row["publication_year"], row["publisher"]) == (1998, "Nauka")
    assert row["creators"][0]["orcid"] is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Title :", "Title"),
        ("Smith, John,", "Smith, John"),
        ("Smith, J.", "Smith, J."),
        ("Washington, D.C.", "Washington, D.C."),
        ("2019.", "2019"),
        ("Title /.", "Title"),
        (" .", None),
    ],
)
def test_chop(value, expected):
    assert chop(value) == expected


@pytest.mark.parametrize(
    "fields, reason",
    [
        ('<datafield tag="245" ind1="0" ind2="0"><subfield code="c">by nobody</subfield></datafield>', "missing_title"),
        # A local 024 8_ number, a 024 7_ with an unknown source and an 856 4 2 related resource.
        (
            '<datafield tag="024" ind1="7" ind2=" "><subfield code="a">X-1</subfield>'
            '<subfield code="2">local</subfield>'
            '</datafield><datafield tag="024" ind1="8" ind2=" "><subfield code="a">INV-1</subfield></datafield>'
            '<datafield tag="856" ind1="4" ind2="2"><subfield code="u">https://r.example/toc.pdf</subfield></datafield>',
            "missing_identifier",
        ),
    ],
)
def test_unmappable_records_say_why(fields, reason):
    with pytest.raises(Unmappable) as exc:
        inline(fields=fields)
    assert exc.value.reason == reason


def test_wrong_format():
    with pytest.raises(Unmappable) as exc:
        get_crosswalk("marc21").fn(fixture_payload("marc21_thesis_handle_oai_dc.xml"))
    assert exc.value.reason == "wrong_format"
