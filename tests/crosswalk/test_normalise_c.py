"""The C identifier normalisers (harvest/crosswalk/_walk.c: classify_identifier, normalise_orcid)
give exactly what the Python ones in harvest/crosswalk/normalize.py give: on generated values built
from the patterns' own pieces (prefixes in any case, digit runs around every length limit, check
digits that hold and fail, whitespace Python counts and ASCII text does not show, percent escapes,
non-ASCII letters and digits), on every element text and attribute value of the captured
responses, and on crafted cases; the crosswalk tests then run with them. Skipped where the module
is not in use, unless GOSC_REQUIRE_C_WALK=1."""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harvest.crosswalk import normalize
from tests.conftest import DATA

if normalize.classify_identifier is normalize.py_classify_identifier:
    if os.environ.get("GOSC_REQUIRE_C_WALK") == "1":
        pytest.fail("the C normalisers are not built or not used (run `python -m harvest.crosswalk.build_walk`)",
                    pytrace=False)
    pytest.skip("the C normalisers are not in use here: the Python ones run", allow_module_level=True)

c_classify, py_classify = normalize.classify_identifier, normalize.py_classify_identifier
c_orcid, py_orcid = normalize.normalise_orcid, normalize.py_normalise_orcid.__wrapped__   # uncached

PIECES = ["doi:", "DOI: ", "doi:\t", "info:doi/", "https://", "http://", "HTTP://", "https:/", "dx.", "www.", "WWW.",
          "doi.org/", "doi.", "pangaea", "de/", "urn:doi:", "10.", "10.1", "hdl:", "HDL: ", "info:hdl/",
          "hdl.handle.net/", "arxiv:", "arXiv: ", "export.", "arxiv.org/", "abs/", "pdf/", "abs", "oai:arXiv.org:",
          "ark:/", "ark:", "ARK:", "n2t.net/", "urn:nbn:", "URN:NBN:", "nbn-resolving.org/", "nbn-resolving.de/",
          "cstr:", "CSTR: ", "cstr.cn/", "issn", "ISSN:", "ISSN ", "urn:issn:", "isbn", "ISBN-13:", "isbn-10 ",
          "urn:isbn:", "-10", "-13", "v", "V", "v2", ".pdf", ".PDF", ".pd", "X", "x", "-", "--", ".", "/", "//", ":",
          " ", "  ", "\t", "\n", "\x0b", "\x1c", "\x1f", "%2F", "%", "é", "٣", "\u212a", "\xa0", "a", "Zq",
          "hep-th", "math.AG", "de", "101", "-", "_"]
DIGITS = st.text("0123456789", min_size=1, max_size=11)
VALUE = st.lists(st.one_of(st.sampled_from(PIECES), DIGITS), max_size=9).map("".join)
HINT = st.sampled_from([None, "", "DOI", "doi", "Handle", " handle ", "HANDLE\t", "arXiv", "ISSN", "eISSN", "pissn",
                        "lissn", "ISBN", "cstr", "CSTR", "URL", "URN", "x" * 20, "é", "isbn\x1c"])


def _check_digit_issn(d7: str) -> str:
    check = (11 - sum(int(d) * w for d, w in zip(d7, range(8, 1, -1))) % 11) % 11
    return d7 + ("X" if check == 10 else str(check))


def _check_digit_isbn13(d12: str) -> str:
    return d12 + str((10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(d12)) % 10) % 10)


def _check_digit_isbn10(d9: str) -> str:
    check = (11 - sum((10 - i) * int(c) for i, c in enumerate(d9)) % 11) % 11
    return d9 + ("X" if check == 10 else str(check))


def _check_digit_orcid(d15: str) -> str:
    total = 0
    for ch in d15:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return d15 + ("X" if check == 10 else str(check))


# values that are valid by construction (random digits pass a check digit 1 time in 10 or 11)
VALID = st.one_of(
    st.tuples(st.sampled_from(["ISSN ", "ISSN", "issn:", "issn: \t", "urn:issn:", "", "eISSN "]),
              st.text("0123456789", min_size=7, max_size=7).map(_check_digit_issn), st.sampled_from(["-", "", "--"]),
              st.booleans()).map(lambda t: f"{t[0]}{t[1][:4]}{t[2]}{t[1][4:].lower() if t[3] else t[1][4:]}"),
    st.tuples(st.sampled_from(["978", "979", "977", "97"]), st.text("0123456789", min_size=9, max_size=9))
    .map("".join).map(_check_digit_isbn13)
    .map(lambda d: f"ISBN {d[:3]}-{d[3:9]}-{d[9:]}"),
    st.tuples(st.sampled_from(["", "isbn ", "ISBN-10: ", "urn:isbn:"]),
              st.text("0123456789", min_size=9, max_size=9).map(_check_digit_isbn10),
              st.booleans()).map(lambda t: t[0] + (t[1].lower() if t[2] else t[1])),
    st.tuples(st.sampled_from(["", "https://doi.org/", "doi: ", "HTTPS://DX.DOI.ORG/", "http://www.doi.org/",
                               "https://doi.pangaea.de/", "https://doi.x1/", "info:doi/", "urn:doi:", "https://dx.x.org/"]),
              st.text("0123456789", min_size=3, max_size=10), st.text("abcXYZ./-_;()0123456789", min_size=1,
                                                                      max_size=12))
    .map(lambda t: f"{t[0]}10.{t[1]}/{t[2]}"),
    st.tuples(st.sampled_from(["", "arXiv:", "arxiv: ", "https://arxiv.org/abs/", "http://export.arxiv.org/pdf/",
                               "oai:arXiv.org:", "https://arxiv.org/list/"]),
              st.one_of(st.tuples(st.text("0123456789", min_size=3, max_size=5), st.just("."),
                                  st.text("0123456789", min_size=3, max_size=6)).map("".join),
                        st.tuples(st.sampled_from(["hep-th", "math.AG", "q-bio", "X", "9a"]), st.just("/"),
                                  st.text("0123456789", min_size=6, max_size=8)).map("".join)),
              st.sampled_from(["", "v2", "V2", "v", "v12.pdf", ".pdf", ".PDF", " "]))
    .map("".join),
    st.tuples(st.sampled_from(["", "https://n2t.net/", "http://x/", "https://", "ARK:/", "https://a/b/"]),
              st.sampled_from(["ark:", "ark:/", "ark://"]), st.text("0123456789", min_size=4, max_size=10),
              st.sampled_from(["/t5p", "/T5P", "/", "x/y", "/a b"])).map("".join),
    st.tuples(st.sampled_from(["", "https://nbn-resolving.org/", "http://nbn-resolving.de/", "https://x.org/"]),
              st.sampled_from(["urn:nbn:", "URN:NBN:"]), st.text("abZ09-:_ ", max_size=8)).map("".join),
    st.tuples(st.sampled_from(["cstr:", "CSTR: ", "https://cstr.cn/", "https://www.cstr.cn/", "", "cstr.cn/"]),
              st.sampled_from(["31253", "00000", "1234", "123456"]), st.just("."), st.sampled_from(["11", "07", "1", "111"]),
              st.sampled_from([".SciDB.1", ".x", ".", "", ". x"])).map("".join),
    st.tuples(st.sampled_from(["hdl:", "https://hdl.handle.net/", "info:hdl/", ""]),
              st.text("0123456789.", min_size=1, max_size=6), st.sampled_from(["/", "/x", "/a b", "x/1"]))
    .map("".join),
)
ORCID = st.one_of(
    st.tuples(st.sampled_from(["", "https://orcid.org/", "orcid: ", " ", "x0"]),
              st.text("0123456789", min_size=15, max_size=15).map(_check_digit_orcid),
              st.sampled_from(["-", "", " - "]), st.sampled_from(["", " ", "\t", "\n"]))
    .map(lambda t: t[0] + t[2].join(t[1][i:i + 4] for i in range(0, 16, 4)) + t[3]),
    st.lists(st.one_of(st.sampled_from(["-", "x", "X", " ", "\x1c", "٣", "/", "orcid"]), DIGITS), max_size=8)
    .map("".join),
)

SETTINGS = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(VALUE, VALID), HINT)
@example("10.1234/x", None)
@example("https://hdl.handle.net/10.1000/1", None)
@example("2101.00001v3.pdf", "arxiv")
@example("urn:nbn:de-1-", None)
@example("http://nbn-resolving.de/urn:nbn:de:0001-x", None)
@example("https://www.cstr.cn/31253.11.sciencedb.1", None)
@example("31253.11.sciencedb.1", "CSTR")
@example("0-306-40615-2", "isbn")
@example("080442957x", "isbn")
@example("https:///ark:/12345/x", None)
@example("https://doi./10.1234/x", None)
@example("9770306406158", "isbn")
@example("123x.45678", "arxiv")
@example("https://ark:/12345/x", None)
def test_classify_identifier_in_c_equals_python(value, hint):
    assert c_classify(value, hint) == py_classify(value, hint), (value, hint)


@SETTINGS
@given(ORCID)
def test_normalise_orcid_in_c_equals_python(value):
    assert c_orcid(value) == py_orcid(value), value


def test_the_generated_values_reach_every_scheme_in_c():
    """The generators are no walk past the code: ASCII values of every scheme and every reason
    for None come out of them (so the C answers, not the Python it hands non-ASCII values to)."""
    seen = set()

    @settings(max_examples=3000, deadline=None, database=None)
    @given(st.one_of(VALUE, VALID), HINT)
    def collect(value, hint):
        if value.isascii() and "%" not in value:
            found = py_classify(value, hint)
            seen.add(found[0] if found else None)

    collect()
    assert seen >= {"doi", "handle", "arxiv", "ark", "urn", "cstr", "issn", "isbn", "url", None}, seen


def _captured_values() -> set[tuple[str, str | None]]:
    """Every element text and attribute value of the captured responses and fixtures, each with
    the element's *Type attribute as hint (identifiers, relations, names, dates, free text: the
    C code must answer like Python for anything a partner writes)."""
    from lxml import etree

    found = set()
    for path in DATA.rglob("*.xml"):
        try:
            root = etree.fromstring(path.read_bytes(), etree.XMLParser(recover=True, resolve_entities=False,
                                                                       no_network=True))
        except etree.XMLSyntaxError:
            continue
        if root is None:
            continue
        for el in root.iter("*"):
            hint = next((v for k, v in el.attrib.items() if k.endswith("Type") or k == "type"), None)
            if el.text and len(el.text) < 500:
                found.add((el.text, hint))
            found.update((v, None) for v in el.attrib.values())
    return found


def test_c_equals_python_on_every_captured_value():
    found = _captured_values()
    assert len(found) > 800
    for value, hint in found:
        assert c_classify(value, hint) == py_classify(value, hint), (value, hint)
        assert c_orcid(value) == py_orcid(value), value
    assert {py_classify(v, h)[0] for v, h in found if py_classify(v, h)} >= {"doi", "handle", "url", "arxiv"}
    assert sum(py_orcid(v) is not None for v, _ in found) > 10


def test_non_ascii_and_escaped_values_go_to_python_and_bad_arguments_fail_alike():
    for value, hint in [("https://doi.org/10.1234/数据", None), ("10.1234%2Fabc", None), ("10.١٢٣٤/x", None),
                        ("0947-6539", "éissn"), ("hdl:1234/\u2003x", None)]:
        assert c_classify(value, hint) == py_classify(value, hint)
    assert c_classify(None) is None and c_classify("") is None and c_orcid(None) is None and c_orcid("") is None
    for bad in [(b"10.1234/x",), (1,), ("10.1234/x", 5)]:
        with pytest.raises((TypeError, AttributeError)):
            py_classify(*bad)
        with pytest.raises((TypeError, AttributeError)):
            c_classify(*bad)
    with pytest.raises(TypeError):
        c_classify()
    with pytest.raises(AttributeError):   # as normalise_orcid(5) in Python
        c_orcid(5)


def test_the_c_normalisers_keep_reference_counts_steady():
    values = [("10.1234/x", None), ("nothing", None), ("", None), ("ISSN 0947-6539", None), ("0947-6538", "issn"),
              ("é", None), ("https://x.org/y", "URL")]
    for value, hint in values:
        c_classify(value, hint), c_orcid(value)   # what goes to Python fills its caches first
        before = sys.getrefcount(None), sys.getrefcount(NotImplemented), sys.getrefcount(value)
        for _ in range(5000):
            result = c_classify(value, hint)
            c_orcid(value)
        del result
        assert (sys.getrefcount(None), sys.getrefcount(NotImplemented), sys.getrefcount(value)) == before, value
