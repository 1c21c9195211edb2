"""MARC 21 bibliographic records in MARCXML (`marc21`, `marcxml`), as library catalogues and
repositories (DSpace, Koha, Alma) serve them, mapped onto the DataCite-shaped canonical fields.
"""

from __future__ import annotations

import re

from harvest.crosswalk.base import Unmappable, Values, creator, element_text, finish, local, register
from harvest.crosswalk.normalize import normalise_language, normalise_orcid, pick_license, year_of

NS = "http://www.loc.gov/MARC21/slim"
# 024 $2 source codes (MARC Standard Identifier Source Codes) → classify_identifier hints.
_PID_SOURCES = {"doi": "doi", "hdl": "handle", "handle": "handle", "urn": "urn", "ark": "ark", "uri": "url"}
# Leader/06 (type of record) → DataCite resourceTypeGeneral. Maps (e/f) are Image as DataCite advises;
# g is projected media (film, video), so Audiovisual; printed and manuscript music (c/d) are documents.
_RECORD_TYPES = {
    "a": "Text",
    "t": "Text",
    "c": "Text",
    "d": "Text",
    "e": "Image",
    "f": "Image",
    "g": "Audiovisual",
    "k": "Image",
    "i": "Sound",
    "j": "Sound",
    "m": "Software",
    "o": "Other",
    "p": "Collection",
    "r": "PhysicalObject",
}
# For computer files (Leader/06 = m), 008/26 says which kind: numeric data is a dataset.
_COMPUTER_FILES = {"a": "Dataset", "b": "Software", "d": "Text", "i": "InteractiveResource", "j": "Service"}
# Relator codes and terms ($4, $e) of 700s that contributed but did not create: a thesis's supervisors.
_NOT_CREATORS = {"ths", "dgs", "opn", "thesis advisor", "degree supervisor", "supervisor", "opponent"}
_THESIS = re.compile(r"\bthes[ie]s\b|\bdissertation", re.I)
_NO_LANGUAGE = {"und", "mul", "zxx", "mis"}
_NO_PUBLISHER = re.compile(r"^\[?(?:s\.\s*n\.?|publisher not identified)\]?$", re.I)


def find_record(metadata):
    """The MARCXML <record>: the payload itself or the first one inside a <collection>."""
    for record in metadata.iter(f"{{{NS}}}record"):
        return record
    raise Unmappable("wrong_format", "no MARCXML <record> element in <metadata>")


def chop(value: str | None) -> str | None:
    """Drop the ISBD punctuation that ends a subfield ('Title :', 'Smith, John,', '2019.'); keep initials."""
    if not value:
        return None
    v = value.rstrip(" /:;,=")
    while v.endswith(".") and not _initial(v):
        v = v[:-1].rstrip(" /:;,=")
    return v or None


def _initial(v: str) -> bool:
    """'Smith, J.' and 'U.S.' end in an initial whose full stop belongs to the name."""
    return len(v) >= 2 and v[-2].isupper() and (len(v) == 2 or v[-3] in " .")


# The datafields the crosswalk reads. A catalogue record holds many more (035 system numbers, 040
# cataloguing source, 5xx notes, 9xx local fields, ...): their subfields are never read.
USED_FIELDS = frozenset(
    {"020", "022", "024", "041", "100", "245", "260", "264", "502", "520", "540", "650", "653", "655", "700", "856"}
)
_SUBFIELD = f"{{{NS}}}subfield"


def _walk(record) -> tuple[str, str, dict]:
    """Leader, 008 and the datafields the crosswalk reads (USED_FIELDS) by tag, in one pass over
    the record's children."""
    leader, f008, fields = "", "", {}
    for child in record.iterchildren():
        tag = local(child.tag)
        # Leader and 008 are positional: their raw text is read, never whitespace-normalised.
        if tag == "leader":
            leader = child.text or ""
        elif tag == "controlfield" and child.get("tag") == "008":
            f008 = child.text or ""
        elif tag == "datafield":
            number = child.get("tag")
            if number not in USED_FIELDS:
                continue
            # Codes are one character; anything else ('' would match every code set) is skipped.
            subs = []
            for sf in child.iterchildren(_SUBFIELD):
                code = sf.get("code")
                if code is not None and len(code) == 1:
                    value = element_text(sf)
                    if value:
                        subs.append((code, value))
            fields.setdefault(number, []).append((child.get("ind1"), child.get("ind2"), subs))
    return leader, f008, fields


def first(field, codes: str) -> str | None:
    return next((v for c, v in field[2] if c in codes), None)


def _creators(fields) -> list:
    out = []
    for field in fields.get("100", []) + fields.get("700", []):
        roles = {(chop(v) or "").lower() for c, v in field[2] if c in "4e"}
        if roles & _NOT_CREATORS:
            continue
        # $1 (real-world object URI) or $0 (authority record) may hold the ORCID iD, as a URI or "(orcid)…".
        orcids = [normalise_orcid(v) for c, v in field[2] if c in "01" and "orcid" in v.lower()]
        orcid = next((o for o in orcids if o), None)
        out.append(creator(chop(first(field, "a")), orcid, chop(first(field, "u"))))
    return out


def _imprint(fields) -> tuple[str | None, int | None]:
    """Publisher and year: 264 second indicator 1 is publication (4 is only a copyright date), or 260."""
    imprints = [f for f in fields.get("264", []) if f[1] == "1"] + fields.get("260", [])
    names = [chop(first(f, "b")) for f in imprints]
    publisher = next((p for p in names if p and not _NO_PUBLISHER.match(p)), None)
    years = [
        year_of(v) for f in imprints + [f for f in fields.get("264", []) if f[1] == "4"] for c, v in f[2] if c == "c"
    ]
    return publisher, next((y for y in years if y), None)


def _resource_type(leader: str, f008: str, fields) -> str | None:
    kind = leader[6:7]
    if kind in ("a", "t"):
        # A thesis shows as a 502 dissertation note, code m ("theses") in 008/24-27 (nature of contents)
        # or a 655 genre term: "Academic theses", "Thesis", "Dissertations, Academic" (not "Thesauri").
        genres = " ".join(v for f in fields.get("655", []) for c, v in f[2] if c == "a")
        thesis = "502" in fields or "m" in f008[24:28] or _THESIS.search(genres)
        return "Dissertation" if thesis else "Text"
    if kind == "m":
        return _COMPUTER_FILES.get(f008[26:27], "Software")
    return _RECORD_TYPES.get(kind)


def _language(f008: str, fields) -> str | None:
    # Before 2001 several languages were run together in one 041 $a ("engrus"): the first is the text's.
    coded = next((v[:3] for f in fields.get("041", []) for c, v in f[2] if c == "a"), None) or f008[35:38]
    lang = normalise_language(coded)
    return None if lang in _NO_LANGUAGE else lang


@register("marc21", "marcxml", version="marc21/1", values=True)
def map_marc21(metadata) -> Values:
    """245 title, 100/700 creators, 024/856 identifiers; Leader and 008 fill what the fields leave out."""
    leader, f008, fields = _walk(find_record(metadata))
    title = next((" ".join(v for c, v in f[2] if c in "abnp") for f in fields.get("245", [])), None)
    publisher, year = _imprint(fields)
    ids = [
        (first(f, "a"), _PID_SOURCES[(first(f, "2") or "").lower()])
        for f in fields.get("024", [])
        if f[0] == "7" and (first(f, "2") or "").lower() in _PID_SOURCES
    ]
    # 856 second indicator 2 is a related resource (table of contents, cover image), not the work.
    ids += [(v, None) for f in fields.get("856", []) if f[1] != "2" for c, v in f[2] if c == "u"]
    # 020 $a often carries a qualifier ("9785946210003 (pbk.)"). ISBNs and ISSNs count only where
    # classify_identifier knows the scheme; an ISSN names the serial the work is part of.
    ids += [(v.split()[0], "isbn") for f in fields.get("020", []) for c, v in f[2] if c == "a"]
    related = [("IsPartOf", v, "issn") for f in fields.get("022", []) for c, v in f[2] if c == "a"]
    return finish(
        title=chop(title),
        creators=_creators(fields),
        subjects=[chop(v) for tag in ("650", "653") for f in fields.get(tag, []) for c, v in f[2] if c == "a"],
        description=next((first(f, "a") for f in fields.get("520", [])), None),
        publisher=publisher,
        year=year or year_of(f008[7:11]),
        resource_type=_resource_type(leader, f008, fields),
        language=_language(f008, fields),
        license=pick_license([v for f in fields.get("540", []) for c, v in f[2] if c in "uaf"]),
        raw_identifiers=ids,
        related=related,
    )
