"""DataCite kernel 3/4 (`datacite`, `oai_datacite` with its oai-1.0/1.1 wrapper) and OpenAIRE
Guidelines v4 (`oai_openaire`), which reuses the DataCite vocabulary under the oaire root.

Elements are matched by local name, so kernel-3, kernel-4 and the openaire mix of datacite:, dc:
and oaire: namespaces all walk through the same code.
"""

from __future__ import annotations

from lxml.etree import Element

from harvest.crosswalk.base import (
    _LOCAL,
    Unmappable,
    Values,
    creator,
    element_text,
    finish,
    local,
    register,
)
from harvest.crosswalk.normalize import (
    normalise_language,
    normalise_orcid,
    normalise_resource_type,
    pick_license_from,
    year_of,
)

_ISSUED = ("issued", "available", "accepted", "created")


def find_resource(metadata):
    """The <resource> element: the payload itself, or inside an oai_datacite <payload> wrapper."""
    if local(metadata.tag) == "resource":
        return metadata
    for el in metadata.iterdescendants("{*}resource", "resource"):  # matched in C, in document order
        return el
    raise Unmappable("wrong_format", "no DataCite/OpenAIRE <resource> element in <metadata>")


def _creator(el) -> tuple | None:
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
    out = {
        "titles": titles,
        "creators": creators,
        "subjects": subjects,
        "descriptions": descriptions,
        "ids": ids,
        "related": related,
        "dates": dates,
        "rights": rights,
        "publisher": None,
        "year": None,
        "type": None,
        "language": None,
    }
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
            descriptions += [
                element_text(d)
                for d in child.iterchildren(Element)
                if (d.get("descriptionType") or "Abstract") == "Abstract"
            ]
        elif tag == "dates":
            dates += [((d.get("dateType") or "").lower(), element_text(d)) for d in child.iterchildren(Element)]
        elif tag == "relatedIdentifiers":
            related += [
                (r.get("relationType"), element_text(r), r.get("relatedIdentifierType"))
                for r in child.iterchildren(Element)
            ]
        elif tag == "rightsList":
            rights += [
                r.get("rightsURI") or r.get("rightsIdentifier") or element_text(r) for r in child.iterchildren(Element)
            ]
        elif tag == "publisher":
            out["publisher"] = element_text(child)
        elif tag == "publicationYear":
            out["year"] = year_of(element_text(child))
        elif tag == "resourceType":
            written = [child.get("uri"), child.get("resourceTypeGeneral"), element_text(child)]
            out["type"], out["type_raw"] = next(
                ((t, w) for w in written for t in [normalise_resource_type(w)] if t), (None, None)
            )
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


def _to_row(f: dict) -> Values:
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


@register("oai_datacite", "datacite", "oai_openaire", version="datacite/1", values=True)
def map_datacite(metadata) -> Values:
    """DataCite and OpenAIRE v4 payloads share one walk (see the module docstring)."""
    return _to_row(_walk(find_resource(metadata)))
