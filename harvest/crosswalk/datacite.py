"""DataCite kernel 3/4 (`datacite`, `oai_datacite` with its oai-1.0/1.1 wrapper) and OpenAIRE
Guidelines v4 (`oai_openaire`), which reuses the DataCite vocabulary under the oaire root.

Elements are matched by local name, so kernel-3, kernel-4 and the openaire mix of datacite:, dc:
and oaire: namespaces all walk through the same code.
"""
from __future__ import annotations

from harvest.crosswalk.base import Unmappable, creator, finish, local, register, text
from harvest.crosswalk.normalize import (
    normalise_language, normalise_orcid, normalise_resource_type, pick_license_from, year_of,
)

_ISSUED = ("issued", "available", "accepted", "created")


def find_resource(metadata):
    """The <resource> element: the payload itself, or inside an oai_datacite <payload> wrapper."""
    for el in metadata.iter():
        if local(el.tag) == "resource":
            return el
    raise Unmappable("wrong_format", "no DataCite/OpenAIRE <resource> element in <metadata>")


def _creator(el) -> dict | None:
    name = family = orcid = affiliation = None
    for c in el.iterchildren():
        tag = local(c.tag)
        if tag in ("creatorName", "contributorName"):
            name = text(c)
        elif tag == "familyName":
            family = text(c)
        elif tag == "nameIdentifier" and (c.get("nameIdentifierScheme") or "").upper() == "ORCID":
            orcid = normalise_orcid(text(c))
        elif tag == "affiliation" and affiliation is None:
            affiliation = text(c)
    return creator(name, orcid, affiliation, family)


def _walk(resource) -> dict:
    """Collect DataCite-shaped fields in one pass over the resource's children."""
    out = {"titles": [], "creators": [], "subjects": [], "descriptions": [], "ids": [], "related": [],
           "dates": [], "rights": [], "publisher": None, "year": None, "type": None, "language": None}
    for child in resource.iterchildren():
        tag = local(child.tag)
        if tag == "titles":
            out["titles"] += [(t.get("titleType"), v) for t in child.iterchildren() if (v := text(t))]
        elif tag == "creators":
            out["creators"] += [_creator(c) for c in child.iterchildren() if local(c.tag) == "creator"]
        elif tag == "subjects":
            out["subjects"] += [text(s) for s in child.iterchildren()]
        elif tag == "subject":
            out["subjects"].append(text(child))
        elif tag == "descriptions":
            out["descriptions"] += [text(d) for d in child.iterchildren()
                                    if (d.get("descriptionType") or "Abstract") == "Abstract"]
        elif tag == "description":
            out["descriptions"].append(text(child))
        elif tag == "identifier":
            out["ids"].append((text(child), child.get("identifierType")))
        elif tag == "alternateIdentifiers":
            out["ids"] += [(text(a), a.get("alternateIdentifierType")) for a in child.iterchildren()]
        elif tag == "relatedIdentifiers":
            out["related"] += [(r.get("relationType"), text(r), r.get("relatedIdentifierType"))
                               for r in child.iterchildren()]
        elif tag == "dates":
            out["dates"] += [((d.get("dateType") or "").lower(), text(d)) for d in child.iterchildren()]
        elif tag == "date":
            out["dates"].append(((child.get("dateType") or "").lower(), text(child)))
        elif tag == "rightsList":
            out["rights"] += [r.get("rightsURI") or r.get("rightsIdentifier") or text(r)
                              for r in child.iterchildren()]
        elif tag in ("rights", "licenseCondition"):
            out["rights"].append(child.get("rightsURI") or child.get("uri") or text(child))
        elif tag == "publisher":
            out["publisher"] = text(child)
        elif tag == "publicationYear":
            out["year"] = year_of(text(child))
        elif tag == "resourceType":
            written = [child.get("uri"), child.get("resourceTypeGeneral"), text(child)]
            out["type"], out["type_raw"] = next(
                ((t, w) for w in written for t in [normalise_resource_type(w)] if t), (None, None))
        elif tag == "language":
            out["language_raw"] = text(child)
            out["language"] = normalise_language(out["language_raw"])
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
    """DataCite and OpenAIRE v4 payloads share one walk (see the module docstring)."""
    return _to_row(_walk(find_resource(metadata)))
