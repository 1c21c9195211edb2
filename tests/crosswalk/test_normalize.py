"""Normalisation of identifiers and values, as a table of cases written by hand."""

from __future__ import annotations

import pytest

from harvest.crosswalk.normalize import (
    classify_identifier,
    normalise_language,
    normalise_license,
    normalise_orcid,
    normalise_resource_type,
    pick_license,
    year_of,
)


@pytest.mark.parametrize(
    "value, hint, expected",
    [
        ("10.5281/zenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("doi:10.5281/ZENODO.123", None, ("doi", "10.5281/zenodo.123")),
        ("DOI: 10.5281/zenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("https://doi.org/10.5281/zenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("http://dx.doi.org/10.5281/zenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("info:doi/10.5281/zenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("10.5281%2Fzenodo.123", None, ("doi", "10.5281/zenodo.123")),
        ("10.11922/SCIENCEDB.00123", "DOI", ("doi", "10.11922/sciencedb.00123")),
        ("hdl:10568/1234", None, ("handle", "10568/1234")),
        ("http://hdl.handle.net/20.500.12008/77", None, ("handle", "20.500.12008/77")),
        ("20.500.12008/77", "Handle", ("handle", "20.500.12008/77")),
        ("arXiv:2101.00001v2", None, ("arxiv", "2101.00001")),
        ("https://arxiv.org/abs/hep-th/9901001v3", None, ("arxiv", "hep-th/9901001")),
        ("oai:arXiv.org:0804.2273", None, ("arxiv", "0804.2273")),
        ("ark:/13030/tf5p30086k", None, ("ark", "13030/tf5p30086k")),
        ("https://n2t.net/ark:/13030/tf5p30086k", None, ("ark", "13030/tf5p30086k")),
        ("urn:nbn:de:0011-2020-123", None, ("urn", "urn:nbn:de:0011-2020-123")),
        ("CSTR:31253.11.sciencedb.00123", None, ("cstr", "31253.11.sciencedb.00123")),
        ("https://cstr.cn/31253.11.sciencedb.00123", None, ("cstr", "31253.11.sciencedb.00123")),
        ("https://repo.example.org/record/1", None, ("url", "https://repo.example.org/record/1")),
        ("oai:zenodo.org:10357859", None, None),
        ("", None, None),
        ("10.1234", None, None),
    ],
)
def test_classify_identifier(value, hint, expected):
    assert classify_identifier(value, hint) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0003-1522-494X", "0000-0003-1522-494X"),
        ("000000021825 0097".replace(" ", ""), "0000-0002-1825-0097"),
        ("0000-0002-1825-0098", None),  # wrong check digit
        ("not an orcid", None),
    ],
)
def test_orcid_checksum(value, expected):
    assert normalise_orcid(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("eng", "en"),
        ("English", "en"),
        ("en-GB", "en"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("ara", "ar"),
        ("spa", "es"),
        ("pt_BR", "pt"),
        ("swa", "sw"),
        ("tlh", "tlh"),
        ("??", None),
        (None, None),
    ],
)
def test_language(value, expected):
    assert normalise_language(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("http://creativecommons.org/licenses/by-nc-sa/3.0/igo/", "CC-BY-NC-SA-3.0"),
        # Zenodo's rights URL: "legalcode" and "deed.en" are pages of the licence, not jurisdictions
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/deed.en", "CC-BY-SA-4.0"),
        ("https://creativecommons.org/licenses/by/3.0/au/", "https://creativecommons.org/licenses/by/3.0/au/"),
        (
            "http://creativecommons.org/licenses/by-nc/2.5/es/deed.es",
            "http://creativecommons.org/licenses/by-nc/2.5/es/deed.es",
        ),
        (
            "https://creativecommons.org/licenses/by/3.0/us/legalcode",
            "https://creativecommons.org/licenses/by/3.0/us/legalcode",
        ),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("cc-by-4.0", "CC-BY-4.0"),
        ("http://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("info:eu-repo/semantics/openAccess", None),
        ("All rights reserved", "All rights reserved"),
    ],
)
def test_license(value, expected):
    assert normalise_license(value) == expected


def test_pick_license_prefers_spdx_then_url():
    assert (
        pick_license(
            [
                "info:eu-repo/semantics/openAccess",
                "Some text",
                "https://x.org/l",
                "https://creativecommons.org/licenses/by/4.0/",
            ]
        )
        == "CC-BY-4.0"
    )
    assert pick_license(["Some text", "https://x.org/l"]) == "https://x.org/l"
    assert pick_license([]) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("info:eu-repo/semantics/article", "JournalArticle"),
        ("info:eu-repo/semantics/doctoralThesis", "Dissertation"),
        ("http://purl.org/coar/resource_type/c_ddb1", "Dataset"),
        ("Dataset", "Dataset"),
        ("journal article", "JournalArticle"),
        ("Software", "Software"),
        ("BlogPosting", None),
    ],
)
def test_resource_type(value, expected):
    assert normalise_resource_type(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2019-05-01", 2019),
        ("Issued: 2018-01-18", 2018),
        ("c. 1998", 1998),
        ("20190501", None),
        (None, None),
    ],
)
def test_year(value, expected):
    assert year_of(value) == expected


@pytest.mark.parametrize(
    "value, hint, expected",
    [
        ("0947-6539", "ISSN", ("issn", "0947-6539")),
        ("urn:issn:1521-3765", None, ("issn", "1521-3765")),
        ("0947-6538", "ISSN", None),  # check digit wrong
        ("ISBN 0-306-40615-2", None, ("isbn", "9780306406157")),  # ISBN-10 → ISBN-13
        ("978-0-306-40615-7", "ISBN", ("isbn", "9780306406157")),
        ("isbn:0306406153", None, None),
    ],
)
def test_issn_and_isbn(value, hint, expected):
    assert classify_identifier(value, hint) == expected


# the same identifiers written with another script's digits (Arabic-Indic, Devanagari, full-width):
# Python's \d would take them; an identifier's structure is ASCII digits, so none is recognised
# (C and Python alike: the C code hands non-ASCII values to Python)
@pytest.mark.parametrize(
    "value, hint",
    [
        ("10.١٢٣٤/abc", None),
        ("https://doi.org/10.१२३४/abc", None),
        ("hdl:１２３４/5", None),
        ("１２３４/5", "Handle"),
        ("arXiv:٢١٠١.٠٠٠٠١", None),
        ("ark:/١٣٠٣٠/x", None),
        ("cstr:٣١٢٥٣.١١.x", None),
        ("ISSN ٠٩٤٧-٦٥٣٩", None),
        ("ISBN ٠-٣٠٦-٤٠٦١٥-٢", None),
    ],
)
def test_identifiers_in_other_digits_are_not_recognised(value, hint):
    found = classify_identifier(value, hint)
    assert found is None or found == ("url", value)  # a resolver URL stays a URL, never a PID


def test_an_orcid_in_other_digits_is_not_recognised():
    assert normalise_orcid("٠٠٠٠-٠٠٠٢-١٨٢٥-٠٠٩٧") is None and normalise_orcid("٠٠٠٠-0002-1825-0097") is None
    assert normalise_orcid("0000-0002-1825-0097") == "0000-0002-1825-0097"
    # an ASCII DOI whose suffix holds other digits is still a DOI, kept as written
    assert classify_identifier("10.1234/abc١") == ("doi", "10.1234/abc١")
