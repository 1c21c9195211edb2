"""DataCite kernel 3/4 (`datacite`, `oai_datacite` with its oai-1.0/1.1 wrapper) and OpenAIRE
Guidelines v4 (`oai_openaire`), which reuses the DataCite vocabulary under the oaire root.

Elements are matched by local name, so kernel-3, kernel-4 and the openaire mix of datacite:, dc:
and oaire: namespaces all walk through the same code.
"""
from __future__ import annotations

from lxml.etree import Element

from harvest.crosswalk.base import _LOCAL, Unmappable, creator, element_text, finish, local, register
from harvest.crosswalk.normalize import (
    normalise_language, normalise_orcid, normalise_resource_type, pick_license_from, year_of,
)
from harvest.crosswalk.speedups import resource_nodes as c_resource_nodes

_ISSUED = ("issued", "available", "accepted", "created")


def find_resource(metadata):
    """The <resource> element: the payload itself, or inside an oai_datacite <payload> wrapper."""
    if local(metadata.tag) == "resource":
        return metadata
    for el in metadata.iterdescendants("{*}resource", "resource"):   # matched in C, in document order
        return el
    raise Unmappable("wrong_format", "no DataCite/OpenAIRE <resource> element in <metadata>")


def _creator(el) -> dict | None:
    name = family = orcid = affiliation = None
    known = _LOCAL.get
    for c in el.iterchildren():
        tag = c.tag
        tag = known(tag) or local(tag)
        if tag == "creatorName" or tag == "contributorName":
            name = element_text(c)
        elif tag == "familyName":
            family = element_text(c)
        elif tag == "affiliation":
            if affiliation is None:
                affiliation = element_text(c)
        elif tag == "nameIdentifier" and (c.get("nameIdentifierScheme") or "").upper() == "ORCID":
            orcid = normalise_orcid(element_text(c))
    return creator(name, orcid, affiliation, family)


def _elements(el):
    """An element's element children (comments and processing instructions are no values)."""
    return el.iterchildren(Element)


def _walk(resource) -> dict:
    """Collect DataCite-shaped fields in one pass over the resource's children."""
    titles, creators, subjects, descriptions, ids, related, dates, rights = [], [], [], [], [], [], [], []
    out = {"titles": titles, "creators": creators, "subjects": subjects, "descriptions": descriptions,
           "ids": ids, "related": related, "dates": dates, "rights": rights, "publisher": None, "year": None,
           "type": None, "language": None}
    known = _LOCAL.get
    for child in resource.iterchildren(Element):
        tag = child.tag
        tag = known(tag) or local(tag)
        if tag == "creators":
            for c in child.iterchildren(Element):
                tag = c.tag
                if (known(tag) or local(tag)) == "creator":
                    creators.append(_creator(c))
        elif tag == "titles":
            for t in child.iterchildren(Element):
                v = element_text(t)
                if v:
                    titles.append((t.get("titleType"), v))
        elif tag == "subjects":
            subjects += map(element_text, child.iterchildren(Element))
        elif tag == "identifier":
            ids.append((element_text(child), child.get("identifierType")))
        elif tag == "alternateIdentifiers":
            ids += [(element_text(a), a.get("alternateIdentifierType")) for a in child.iterchildren(Element)]
        elif tag == "descriptions":
            descriptions += [element_text(d) for d in child.iterchildren(Element)
                             if (d.get("descriptionType") or "Abstract") == "Abstract"]
        elif tag == "dates":
            dates += [((d.get("dateType") or "").lower(), element_text(d)) for d in child.iterchildren(Element)]
        elif tag == "relatedIdentifiers":
            related += [(r.get("relationType"), element_text(r), r.get("relatedIdentifierType"))
                        for r in child.iterchildren(Element)]
        elif tag == "rightsList":
            rights += [r.get("rightsURI") or r.get("rightsIdentifier") or element_text(r)
                       for r in child.iterchildren(Element)]
        elif tag == "publisher":
            out["publisher"] = element_text(child)
        elif tag == "publicationYear":
            out["year"] = year_of(element_text(child))
        elif tag == "resourceType":
            written = [child.get("uri"), child.get("resourceTypeGeneral"), element_text(child)]
            out["type"], out["type_raw"] = next(
                ((t, w) for w in written for t in [normalise_resource_type(w)] if t), (None, None))
        elif tag == "language":
            out["language_raw"] = element_text(child)
            out["language"] = normalise_language(out["language_raw"])
        elif tag == "subject":
            subjects.append(element_text(child))
        elif tag == "description":
            descriptions.append(element_text(child))
        elif tag == "date":
            dates.append(((child.get("dateType") or "").lower(), element_text(child)))
        elif tag == "rights" or tag == "licenseCondition":
            rights.append(child.get("rightsURI") or child.get("uri") or element_text(child))
    return out


# ---- the same walk over the nodes the C walk gives (harvest/crosswalk/_walk.c: resource_nodes):
# tuples (local name, element_text, {attribute: value} | None, children) for the resource's
# children, theirs, and their children's (creators/creator/creatorName). It must give exactly
# what _walk gives: tests/crosswalk/test_walk_c.py compares the two.
_DEPTH = 3


def _get(attrs: dict | None, name: str) -> str | None:
    return attrs.get(name) if attrs else None


def _creator_node(node) -> dict | None:
    name = family = orcid = affiliation = None
    for tag, text, attrs, _ in node[3]:
        if tag == "creatorName" or tag == "contributorName":
            name = text
        elif tag == "familyName":
            family = text
        elif tag == "affiliation":
            if affiliation is None:
                affiliation = text
        elif tag == "nameIdentifier" and (_get(attrs, "nameIdentifierScheme") or "").upper() == "ORCID":
            orcid = normalise_orcid(text)
    return creator(name, orcid, affiliation, family)


def _walk_nodes(nodes) -> dict:
    """_walk over resource_nodes' tuples."""
    titles, creators, subjects, descriptions, ids, related, dates, rights = [], [], [], [], [], [], [], []
    out = {"titles": titles, "creators": creators, "subjects": subjects, "descriptions": descriptions,
           "ids": ids, "related": related, "dates": dates, "rights": rights, "publisher": None, "year": None,
           "type": None, "language": None}
    for tag, text, attrs, kids in nodes:
        if tag == "creators":
            creators += [_creator_node(c) for c in kids if c[0] == "creator"]
        elif tag == "titles":
            titles += [(_get(t[2], "titleType"), t[1]) for t in kids if t[1]]
        elif tag == "subjects":
            subjects += [k[1] for k in kids]
        elif tag == "identifier":
            ids.append((text, _get(attrs, "identifierType")))
        elif tag == "alternateIdentifiers":
            ids += [(a[1], _get(a[2], "alternateIdentifierType")) for a in kids]
        elif tag == "descriptions":
            descriptions += [d[1] for d in kids if (_get(d[2], "descriptionType") or "Abstract") == "Abstract"]
        elif tag == "dates":
            dates += [((_get(d[2], "dateType") or "").lower(), d[1]) for d in kids]
        elif tag == "relatedIdentifiers":
            related += [(_get(r[2], "relationType"), r[1], _get(r[2], "relatedIdentifierType")) for r in kids]
        elif tag == "rightsList":
            rights += [_get(r[2], "rightsURI") or _get(r[2], "rightsIdentifier") or r[1] for r in kids]
        elif tag == "publisher":
            out["publisher"] = text
        elif tag == "publicationYear":
            out["year"] = year_of(text)
        elif tag == "resourceType":
            written = [_get(attrs, "uri"), _get(attrs, "resourceTypeGeneral"), text]
            out["type"], out["type_raw"] = next(
                ((t, w) for w in written for t in [normalise_resource_type(w)] if t), (None, None))
        elif tag == "language":
            out["language_raw"] = text
            out["language"] = normalise_language(text)
        elif tag == "subject":
            subjects.append(text)
        elif tag == "description":
            descriptions.append(text)
        elif tag == "date":
            dates.append(((_get(attrs, "dateType") or "").lower(), text))
        elif tag == "rights" or tag == "licenseCondition":
            rights.append(_get(attrs, "rightsURI") or _get(attrs, "uri") or text)
    return out


def _to_row(f: dict) -> dict:
    main = [t for kind, t in f["titles"] if not kind] or [t for _, t in f["titles"]]
    issued = [year_of(v) for kind, v in f["dates"] if kind in _ISSUED and year_of(v)]
    license, license_raw = pick_license_from(f["rights"])
    return finish(
        title=main[0] if main else None,
        creators=f["creators"],
        subjects=f["subjects"],
        description=next((d for d in f["descriptions"] if d), None),
        publisher=f["publisher"],
        year=f["year"] or (min(issued) if issued else None),
        resource_type=f["type"],
        language=f["language"],
        license=license,
        raw_identifiers=f["ids"],
        related=f["related"],
        originals={"resource_type": f.get("type_raw"), "language": f.get("language_raw"), "license": license_raw},
    )


@register("oai_datacite", "datacite", "oai_openaire", version="datacite/1")
def map_datacite(metadata) -> dict:
    """DataCite and OpenAIRE v4 payloads share one walk (see the module docstring), in C where it
    is built."""
    nodes = c_resource_nodes(metadata, _DEPTH) if c_resource_nodes is not None else NotImplemented
    if nodes is None:
        raise Unmappable("wrong_format", "no DataCite/OpenAIRE <resource> element in <metadata>")
    if nodes is NotImplemented:   # no C walk, or a node it leaves to Python (an entity reference)
        return _to_row(_walk(find_resource(metadata)))
    return _to_row(_walk_nodes(nodes))
