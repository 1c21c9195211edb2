"""The crosswalk registry and the shared finishing step every crosswalk ends with.

A crosswalk is a pure function from the lxml <metadata> payload element to a `Mapped` dict of the
descriptive fields of schemas/records.schema.json. It raises `Unmappable` when a record cannot be
mapped; the harvester then quarantines the record with that reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harvest.crosswalk.normalize import best_pid, classify_identifier, pid_string, pid_url
from harvest.errors import HarvestError

Mapped = dict


class Unmappable(HarvestError):
    """A record that cannot become a canonical row; `reason` is a short code for reports."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Crosswalk:
    name: str
    version: str
    fn: Callable[[object], Mapped]


REGISTRY: dict[str, Crosswalk] = {}


def register(*names: str, version: str):
    """Register a crosswalk function under one or more metadata prefixes."""

    def wrap(fn):
        for name in names:
            REGISTRY[name] = Crosswalk(name, version, fn)
        return fn

    return wrap


def get_crosswalk(name: str) -> Crosswalk:
    """A registered crosswalk by metadata prefix, or a field map by its YAML path (not cached, so an
    edited map gets a new version)."""
    if name.endswith((".yaml", ".yml")):
        from harvest.crosswalk.fieldmap import load_field_map

        return load_field_map(name)
    from harvest.crosswalk import datacite, marc21, oai_dc, rif  # noqa: F401  (registration side effect)

    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise HarvestError(f"no crosswalk for metadata format {name!r} (known: {known})") from None


_LOCAL: dict = {}


def local(tag: object) -> str:
    """The local name of an lxml tag ('{ns}title' → 'title'); '' for comments and PIs."""
    try:
        return _LOCAL[tag]
    except KeyError:
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL) < 8192:   # a page's vocabulary of tags is small; never grow without bound
            _LOCAL[tag] = name
        return name


def text(el) -> str | None:
    """Whitespace-normalised text content of an element (CDATA and children included), or None;
    comments and processing instructions are not values."""
    if el is None or not isinstance(el.tag, str):
        return None
    return element_text(el)


def element_text(el) -> str | None:
    """text() for what is known to be an element (not None, a comment or a PI): the hot walks'
    version, without text()'s checks."""
    value = el.text if len(el) == 0 else "".join(el.itertext())   # a leaf needs no tree walk
    if not value:
        return None
    value = value.strip()
    if "  " in value or "\n" in value or "\t" in value or "\r" in value:
        value = " ".join(value.split())
    return value or None


def split_name(name: str) -> str:
    """The family name in 'Family, Given' or 'Given Family'; a name without separators is kept whole."""
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else name


def creator(name: str | None, orcid: str | None = None, affiliation: str | None = None,
            family: str | None = None) -> dict | None:
    if not name:
        return None
    return {"name": name, "family_name": family or split_name(name), "orcid": orcid, "affiliation": affiliation}


def finish(*, title, creators, subjects, description, publisher, year, resource_type, language,
           license, raw_identifiers, landing_url=None, related=(), originals=None) -> Mapped:
    """Classify identifiers, choose the primary PID and landing URL, and check the minimum content.

    `originals` maps a field to the value the partner wrote (before normalisation); it is kept
    where normalisation changed it, with every identifier whose written form differs."""
    ids: list[tuple[str, str]] = []
    kept: list[dict] = []
    for value, hint in raw_identifiers:
        found = classify_identifier(value, hint)
        if found and found not in ids:
            ids.append(found)
            if found[0] != "url" and value.strip() != found[1]:
                kept.append({"field": f"identifier:{found[0]}", "value": value.strip()})
    if originals:
        for name, raw in originals.items():
            if raw is not None and raw != (language if name == "language" else license if name == "license"
                                           else resource_type if name == "resource_type" else None):
                kept.append({"field": name, "value": raw})
    if not title:
        raise Unmappable("missing_title", "the record has no title")
    if not ids:
        raise Unmappable("missing_identifier", "no persistent identifier or URL in the record")
    best = best_pid(ids)
    landing = landing_url or next((v for s, v in ids if s == "url"), None) or (pid_url(*best) if best else None)
    rel = []
    for relation, value, hint in related:
        found = classify_identifier(value, hint)
        entry = {"relation": relation, "scheme": found[0], "value": found[1]} if found else None
        if entry and entry not in rel:
            rel.append(entry)
    return {
        "title": title,
        "creators": creators if None not in creators else [c for c in creators if c],
        "subjects": list(dict.fromkeys(subjects)) if "" not in subjects and None not in subjects
        else list(dict.fromkeys(s for s in subjects if s)),
        "description": description,
        "publisher": publisher,
        "publication_year": year,
        "resource_type": resource_type,
        "language": language,
        "license": license,
        "identifiers": [{"scheme": s, "value": v} for s, v in ids],
        "primary_pid": pid_string(*best) if best else None,
        "landing_url": landing,
        "related_identifiers": rel,
        "originals": kept,
    }
