"""RIF-CS 1.6 (`rif`, `rif-cs`): Research Data Australia's registryObjects, one collection (or
activity, party, service) per OAI record, mapped onto the DataCite-shaped canonical fields.
"""

from __future__ import annotations

import html
import re

from harvest.crosswalk.base import Unmappable, Values, creator, finish, local, register, text
from harvest.crosswalk.normalize import normalise_language, pick_license, year_of

NS = "http://ands.org.au/standards/rif-cs/registryObjects"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CLASSES = ("collection", "activity", "party", "service")
# identifier/@type values that can name the work itself; the value still decides (classify_identifier).
# AU-ANL:PEAU, orcid, isni, abn, arc, ... identify people, grants or catalogue entries, not the work.
_ID_TYPES = {"doi", "handle", "uri", "url", "ark", "purl", "local", "urn", "infouri"}
_COLLECTION_TYPES = {"dataset": "Dataset", "collection": "Collection", "software": "Software"}
_CLASS_TYPES = {"service": "Service", "activity": "Other", "party": "Other"}
# RIF-CS relation types spelt like DataCite relationTypes once capitalised; the rest (hasAssociationWith,
# isOutputOf, hasCollector, ...) have no DataCite counterpart and become the neutral "References".
_DATACITE_RELATIONS = {
    "cites",
    "iscitedby",
    "haspart",
    "ispartof",
    "issupplementto",
    "issupplementedby",
    "isderivedfrom",
    "isdocumentedby",
    "documents",
    "isreferencedby",
    "references",
    "isreviewedby",
    "reviews",
    "describes",
    "isdescribedby",
    "isnewversionof",
    "ispreviousversionof",
    "isversionof",
    "hasversion",
    "issourceof",
}
_YEAR_DATES = ("dc.issued", "dc.available", "dc.created")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h\d|tr|td|table)\b[^>]*>", re.I)
_INLINE_TAG = re.compile(r"</?[a-z][^>]*>", re.I)


def find_object(metadata):
    """The class element (collection, ...) of the first registryObject: RDA sends one per OAI record."""
    for ro in metadata.iter(f"{{{NS}}}registryObject"):
        for child in ro.iterchildren():
            if local(child.tag) in _CLASSES:
                return ro, child
    raise Unmappable("wrong_format", "no RIF-CS registryObject with a collection/activity/party/service")


def plain(value: str | None) -> str | None:
    """Descriptions are HTML, often escaped twice (&amp;lt;p&amp;gt;): plain text for the index."""
    if not value:
        return None
    if "&lt;" in value:
        value = html.unescape(value)
    if "<" in value:
        value = html.unescape(_INLINE_TAG.sub("", _BLOCK_TAG.sub(" ", value)))
    return " ".join(value.split()) or None


def person(el) -> str | None:
    """A name or contributor: 'Family, Given' from typed nameParts, else the untyped parts joined."""
    parts: dict[str, list[str]] = {}
    for p in el.iterchildren(f"{{{NS}}}namePart"):
        if text(p):
            parts.setdefault((p.get("type") or "").lower(), []).append(text(p))
    family, given = " ".join(parts.get("family", [])), " ".join(parts.get("given", []))
    if family:
        return f"{family}, {given}" if given else family
    return given or " ".join(parts.get("", [])) or None


def _relation(info) -> str:
    rel = info.find(f"{{{NS}}}relation")
    kind = (rel.get("type") or "") if rel is not None else ""
    return kind[:1].upper() + kind[1:] if kind.lower() in _DATACITE_RELATIONS else "References"


def _citation(cm, out: dict) -> None:
    for child in cm.iterchildren():
        tag = local(child.tag)
        if tag == "identifier" and (child.get("type") or "").lower() in _ID_TYPES:
            out["ids"].append((text(child), child.get("type")))
        elif tag == "contributor":
            # @seq orders contributors; RDA does not require it, so unnumbered ones keep document order.
            seq = child.get("seq") or ""
            out["creators"].append((int(seq) if seq.isdecimal() else 10**6, person(child)))
        elif tag == "publisher":
            out["publisher"] = text(child)
        elif tag == "date" and (child.get("type") or "").lower() not in ("modified", "valid"):
            out["years"].append(year_of(text(child)))
        elif tag == "title":
            out["citation_title"] = text(child)


def _walk(obj) -> dict:
    """Collect the fields in one pass over the class element's children."""
    out = {
        "names": [],
        "ids": [],
        "creators": [],
        "descriptions": {},
        "subjects": [],
        "licences": [],
        "related": [],
        "dated": {},
        "years": [],
        "publisher": None,
        "citation_title": None,
    }
    for child in obj.iterchildren():
        tag, kind = local(child.tag), (child.get("type") or "").lower()
        if tag == "name":
            out["names"].append((kind, person(child), child.get(XML_LANG)))
        elif tag == "identifier" and kind in _ID_TYPES:
            out["ids"].append((text(child), kind))
        elif tag == "location":
            # target="directDownload" is a file, not the work: only landing pages identify the record.
            out["ids"] += [
                (text(e.find(f"{{{NS}}}value")), "url")
                for e in child.iter(f"{{{NS}}}electronic")
                if e.get("type") == "url" and e.get("target") != "directDownload"
            ]
        elif tag == "description":
            out["descriptions"][kind] = out["descriptions"].get(kind) or plain(text(child))
        elif tag == "subject":
            out["subjects"].append(text(child))
        elif tag == "rights":
            out["licences"] += [
                v for lic in child.iterchildren(f"{{{NS}}}licence") for v in (lic.get("rightsUri"), text(lic))
            ]
        elif tag == "dates" and kind in _YEAR_DATES:
            out["dated"][kind] = out["dated"].get(kind) or year_of(text(child.find(f"{{{NS}}}date")))
        elif tag == "relatedInfo" and kind != "party":  # a party's ORCID is a person, not a work
            out["related"] += [
                (_relation(child), text(i), i.get("type")) for i in child.iterchildren(f"{{{NS}}}identifier")
            ]
        elif tag == "citationInfo":
            for cm in child.iterchildren(f"{{{NS}}}citationMetadata"):
                _citation(cm, out)
        # relatedObject holds registry keys only; coverage/temporal dates are what the data covers,
        # not when it was published (rif_date_test.xml), so neither is read.
    return out


@register("rif", "rif-cs", version="rif/1", values=True)
def map_rif(metadata) -> Values:
    """Title from the primary name, PIDs from identifiers, landing pages and the citation."""
    ro, obj = find_object(metadata)
    f = _walk(obj)
    names = [n for n in f["names"] if n[1]]
    primary = next((n for n in names if n[0] == "primary"), names[0] if names else (None, None, None))
    years = [y for y in f["years"] if y] + [f["dated"][k] for k in _YEAR_DATES if f["dated"].get(k)]
    if local(obj.tag) == "collection":
        rtype = _COLLECTION_TYPES.get((obj.get("type") or "").lower(), "Collection")
    else:
        rtype = _CLASS_TYPES[local(obj.tag)]
    return finish(
        title=primary[1] or f["citation_title"],
        creators=[creator(name) for _, name in sorted(f["creators"], key=lambda c: c[0])],
        subjects=f["subjects"],
        description=f["descriptions"].get("brief") or f["descriptions"].get("full"),
        # @group is the contributing organisation: RDA's own "publisher" when the citation names none.
        publisher=f["publisher"] or ro.get("group"),
        year=years[0] if years else None,
        resource_type=rtype,
        language=normalise_language(primary[2]),
        license=pick_license(f["licences"]),
        raw_identifiers=f["ids"],
        related=list(dict.fromkeys(f["related"])),  # relatedInfo often repeats one URL per type
    )
