"""The optional C code (harvest/crosswalk/_walk.c): `dc_fields`, the oai_dc child loop, None where
the module is not built, the lxml version's element layout is not one it knows, it gives a
different answer than the Python walk on a check document, or HARVEST_C_WALK=0 turns it off;
`datacite_walk` gives the DataCite/OpenAIRE walk and `dc_values` the whole oai_dc crosswalk under
the same conditions, `normalisers` the
identifier normalisers and `cut_records` record_bytes' loop (these two need no lxml layout)."""
from __future__ import annotations

import os

from lxml import etree

# lxml major versions whose public element struct (PyObject_HEAD, _doc, _c_node, _tag) the C code
# reads; another version falls back to Python until it is checked and added
KNOWN_LXML = (4, 5, 6)

_CHECK = (b'<metadata xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
          b'xmlns:dc="http://purl.org/dc/elements/1.1/"><!-- c --><oai_dc:dc>'
          b'<dc:title> A  title\n </dc:title><dc:creator>X, Y</dc:creator><!--c--><dc:creator>Z</dc:creator>'
          b'<dc:subject><![CDATA[cd]]>a<b>&amp;b</b><!--no-->c</dc:subject><dc:date></dc:date>'
          b'<dc:description>\xc3\xa9t\xc3\xa9\xc2\xa0</dc:description></oai_dc:dc></metadata>')
_EXPECTED = {"title": ["A title"], "creator": ["X, Y", "Z"], "subject": ["cda&bc"], "description": ["été"]}


_CHECK_RESOURCE = (b'<metadata><r:resource xmlns:r="http://datacite.org/schema/kernel-4" '
                   b'xmlns:x="urn:x"><r:creators><r:creator><r:creatorName> B,  A </r:creatorName>'
                   b'<!--c--><r:nameIdentifier nameIdentifierScheme="orcid" x:n="1">0000-0002-1825-0097'
                   b'</r:nameIdentifier></r:creator><r:creator><r:creatorName>C D</r:creatorName></r:creator>'
                   b'</r:creators><r:publicationYear>2020</r:publicationYear><r:dates><r:date dateType="Issued">'
                   b'2019</r:date></r:dates><r:titles><r:title titleType="a&amp;b">T<x:i>i</x:i></r:title><r:title/>'
                   b'</r:titles><r:resourceType resourceTypeGeneral="Dataset">x</r:resourceType>'
                   b'<r:rightsList><r:rights rightsURI="">CC0</r:rights></r:rightsList></r:resource></metadata>')


def _module():
    if os.environ.get("HARVEST_C_WALK", "1") == "0":
        return None
    try:
        from harvest.crosswalk import _walk
    except ImportError:
        return None
    return _walk


def _load():
    _walk = _module()
    if _walk is None or etree.LXML_VERSION[0] not in KNOWN_LXML:
        return None
    _walk.init(etree._Element)
    if _walk.dc_fields(etree.fromstring(_CHECK)) != _EXPECTED:
        return None
    return _walk.dc_fields


dc_fields = _load()
# record_bytes' loop (harvest/oai/page.py: _cut_records) in C: plain bytes, no lxml structures
cut_records = getattr(_module(), "cut_records", None)


# identifiers whose answers the C normalisers must reproduce before they are used: every scheme,
# the prefixes and hints, check digits that hold and fail, and what goes back to Python
_CHECK_IDS = [
    (" doi: 10.1234/AbC ", None), ("https://dx.doi.org/10.5281/zenodo.1", None), ("10.1%2Fx", None),
    ("hdl:1234/5", None), ("1234.5/x", "Handle"), ("arXiv:2101.00001v2", None), ("hep-th/9901001", "arxiv"),
    ("https://n2t.net/ark:/13030/tf5p30086k", None), ("urn:nbn:de:101-2019", None), ("cstr:31253.11.X", None),
    ("ISSN 0947-6539", None), ("0947-6538", "eissn"), ("ISBN 0-306-40615-2", None), ("978-0-306-40615-7", "ISBN"),
    ("http://example.org/a b", None), ("HTTPS://x.org/Y", " URL "), ("10.123/x", None), ("", None), (None, None),
    ("https://doi.org/10.1234/é", None), ("10.1234/x", "Ïsbn"),
]
_CHECK_ORCIDS = ["https://orcid.org/0000-0002-1825-0097", "0000000218250097", "0000-0002-1694-233x",
                 "0000-0002-1825-0098", "orcid 0000-0002-1825-0097 ", "", None, "٠٠٠٠-0002-1825-0097"]


def normalisers(classify, orcid):
    """(classify_identifier, normalise_orcid): the C versions, which hand what they do not decide
    to `classify` and `orcid` (the Python versions), or these two themselves where the C module
    is not in use or answers a check value otherwise."""
    _walk = _module()
    if _walk is None or not hasattr(_walk, "classify_identifier"):
        return classify, orcid
    _walk.set_fallbacks(classify, orcid)
    if (any(_walk.classify_identifier(v, h) != classify(v, h) for v, h in _CHECK_IDS)
            or any(_walk.normalise_orcid(v) != orcid(v) for v in _CHECK_ORCIDS)):
        return classify, orcid
    return _walk.classify_identifier, _walk.normalise_orcid


def datacite_walk(python_walk, year_of, normalise_resource_type, normalise_language, split_name, normalise_orcid):
    """The C DataCite/OpenAIRE walk (datacite_fields: metadata → the dict `python_walk` gives for
    its resource, None without one, NotImplemented where it leaves the record to Python), using
    the helpers given; None where the C walks are not in use or it answers the check otherwise."""
    if dc_fields is None:
        return None
    _walk = _module()
    _walk.set_datacite_helpers(year_of, normalise_resource_type, normalise_language, split_name, normalise_orcid)
    check = etree.fromstring(_CHECK_RESOURCE)
    if _walk.datacite_fields(check) != python_walk(check[0]):
        return None
    return _walk.datacite_fields


# oai_dc records the C crosswalk must map as py_map_oai_dc does before it is used: repeated and
# Text types, a language and rights to normalise, several dates, identifiers that repeat or are
# written otherwise, a relation and ISSN-like sources, repeated subjects, a description without
# letters
_DC = (b'<metadata xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><oai_dc:dc>%s</oai_dc:dc></metadata>')
_CHECK_DC_VALUES = [_DC % body for body in (
    b'<dc:title>T</dc:title><dc:creator>Doe, Jane</dc:creator><dc:creator>Li Wei</dc:creator>'
    b'<dc:subject>a</dc:subject><dc:subject>b</dc:subject><dc:subject>a</dc:subject>'
    b'<dc:description>--</dc:description><dc:description>Abstract</dc:description><dc:publisher>P</dc:publisher>'
    b'<dc:date>2021-05-01</dc:date><dc:date>c. 1998</dc:date><dc:type>Text</dc:type>'
    b'<dc:type>info:eu-repo/semantics/article</dc:type><dc:language>eng</dc:language>'
    b'<dc:rights>info:eu-repo/semantics/openAccess</dc:rights>'
    b'<dc:rights>https://creativecommons.org/licenses/by/4.0/legalcode</dc:rights>'
    b'<dc:identifier>https://doi.org/10.5281/ZENODO.1</dc:identifier><dc:identifier>10.5281/zenodo.1</dc:identifier>'
    b'<dc:identifier>http://hdl.handle.net/1234/5</dc:identifier><dc:identifier>https://x.org/r/1</dc:identifier>'
    b'<dc:relation>https://doi.org/10.1/x</dc:relation><dc:source>ISSN 0947-6539</dc:source>'
    b'<dc:source>0947-6539</dc:source><dc:source>Journal</dc:source>',
    b'<dc:title>T</dc:title><dc:type>Text</dc:type><dc:language>xx-yy</dc:language>'
    b'<dc:identifier>arXiv:2101.00001</dc:identifier><dc:identifier>hdl:1234/5</dc:identifier>',
)]


def dc_values(python_map, *helpers):
    """The C oai_dc crosswalk (dc_values: metadata → the Values `python_map` gives, NotImplemented
    where it leaves the record to Python), using the helpers given (see _walk.set_dc_helpers);
    None where the C walks are not in use or it answers a check record otherwise."""
    _walk = _module()
    if dc_fields is None or not hasattr(_walk, "dc_values"):
        return None
    _walk.set_dc_helpers(*helpers)
    for doc in _CHECK_DC_VALUES:
        metadata = etree.fromstring(doc)
        if _walk.dc_values(metadata) != python_map(metadata):
            return None
    return _walk.dc_values


# <record>s the C record path must read as harvest.records.map_record does: setSpecs with spaces,
# an empty one, both datestamp granularities, an identifier with spaces round it
_RECORD = (b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier> oai:x:1 </identifier>'
           b'<datestamp>%s</datestamp><setSpec> a </setSpec><setSpec/><setSpec>b</setSpec></header>'
           b'<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>'
           b'<dc:identifier>10.1234/x</dc:identifier></oai_dc:dc></metadata></record>')
_CHECK_RECORDS = [_RECORD % stamp for stamp in (b"2024-02-29T23:59:58Z", b"2019-05-01", b" 2020-01-02T03:04:05+01:00 ")]


def dc_record(values, parse_utc):
    """The C oai_dc record path (dc_record: a <record> and its bytes as received → its records
    and raw rows, NotImplemented where harvest.records.map_record must do it), checked on
    _CHECK_RECORDS against the rows map_record's reading gives with `values` (the oai_dc
    crosswalk); None where the C walks are not in use or it answers otherwise."""
    _walk = _module()
    if dc_fields is None or not hasattr(_walk, "dc_record"):
        return None
    _walk.set_record_helpers(parse_utc)
    at = parse_utc("2026-01-01T00:00:00Z")
    for doc in _CHECK_RECORDS:
        record = etree.fromstring(doc)
        header, metadata = record
        stamp = parse_utc(header[1].text)
        head = ("oai:x:1", stamp, False)
        expected = ((*head, ["a", "b"], "oai_dc", *values(metadata), "run", at, "v"),
                    (*head, "oai_dc", doc, "run", at))
        if _walk.dc_record(record, doc, "oai_dc", "run", at, "v") != expected:
            return None
    return _walk.dc_record
