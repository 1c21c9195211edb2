"""oai_dc (Simple Dublin Core, OAI-PMH spec section 6.2 / Appendix): every partner speaks it."""
from __future__ import annotations

import re

from dataclasses import replace

from harvest.crosswalk.base import (
    _LOCAL, REGISTRY, Unmappable, Values, creator, finish, local, register, split_name,
)
from harvest.crosswalk.normalize import (
    normalise_language, normalise_resource_type, pick_license_from, year_of,
)
from harvest.crosswalk import speedups
from harvest.crosswalk.speedups import dc_fields as c_dc_fields
from harvest.state import parse_utc


_ISSN_LIKE = re.compile(r"^(?:e?issn:?\s*)?[0-9]{4}-?[0-9]{3}[0-9xX]$", re.I)


def _creator(value: str) -> tuple | None:
    """OJS and some DSpace sites write 'Family, Given; affiliation; role' into dc:creator."""
    if ";" not in value:   # the common case: no affiliation to split off (`value` is already stripped)
        return value, split_name(value), None, None
    name, _, rest = value.partition(";")
    affiliation = " ".join(p.strip() for p in rest.split(";") if p.strip()) or None
    return creator(name.strip(), None, affiliation)


def _dc_fields(metadata) -> dict[str, list[str]] | None:
    """{local name: [value, ...]} over the children of the <dc> element (`metadata` itself, or its
    first child named dc) in order, each value whitespace-normalised, empty ones left out; None
    when there is no dc element. harvest/crosswalk/_walk.c does the same in C (speedups.dc_fields)."""
    known = _LOCAL.get
    dc = None
    if (known(metadata.tag) or local(metadata.tag)) == "dc":
        dc = metadata
    else:
        for c in metadata.iterchildren():
            if (known(c.tag) or local(c.tag)) == "dc":
                dc = c
                break
    if dc is None:
        return None
    f: dict[str, list[str]] = {}
    for child in dc:   # text() and local() inlined: this loop runs for every element of every record
        tag = child.tag
        name = known(tag)
        if name is None:
            name = local(tag)
        if not name:   # a comment or processing instruction
            continue
        value = child.text if not len(child) else "".join(child.itertext())
        if not value:
            continue
        value = value.strip()
        if "  " in value or "\n" in value or "\t" in value or "\r" in value:
            value = " ".join(value.split())
        if value:
            values = f.get(name)
            if values is None:
                f[name] = [value]
            else:
                values.append(value)
    return f


def py_map_oai_dc(metadata) -> Values:
    """The oai_dc crosswalk in Python: walk the dc:* children once (in C where it is built);
    repeated elements keep their order."""
    f = c_dc_fields(metadata) if c_dc_fields is not None else NotImplemented
    if f is NotImplemented:   # no C walk, or a node it leaves to Python (an entity reference)
        f = _dc_fields(metadata)
    if f is None:
        raise Unmappable("wrong_format", "no oai_dc:dc element in <metadata>")
    get = f.get
    ids = [(v, None) for v in get("identifier", ())]
    types = [(t, raw) for raw in get("type", ()) for t in [normalise_resource_type(raw)] if t]
    rtype = next((t for t in types if t[0] != "Text"), types[0]) if types else (None, None)
    lang = next(((lang, raw) for raw in get("language", ()) for lang in [normalise_language(raw)] if lang),
                (None, None))
    dates = get("date")
    years = [y for y in map(year_of, dates) if y] if dates else None
    license, license_raw = pick_license_from(get("rights"))
    related = [("References", v, None) for v in get("relation", ())]
    sources = get("source")
    if sources:
        related += [("IsPartOf", v, "ISSN") for v in sources if _ISSN_LIKE.match(v)]
    descriptions = get("description")
    return finish(
        title=f["title"][0] if "title" in f else None,
        creators=[_creator(n) for n in get("creator", ())],
        subjects=get("subject", ()),
        description=next((d for d in descriptions if d[0].isalnum() or any(c.isalnum() for c in d)), None)
        if descriptions else None,
        publisher=f["publisher"][0] if "publisher" in f else None,
        year=min(years) if years else None,
        resource_type=rtype[0],
        language=lang[0],
        license=license,
        raw_identifiers=ids,
        related=related,
        originals={"resource_type": rtype[1], "language": lang[1], "license": license_raw},
    )


# the whole crosswalk in C where it is built (harvest/crosswalk/_walk.c: dc_values), with these
# functions for what it does not do itself; it leaves unusual records to py_map_oai_dc
_c_values = speedups.dc_values(py_map_oai_dc, normalise_resource_type, normalise_language, year_of,
                               pick_license_from, _creator, _ISSN_LIKE.match, split_name)


@register("oai_dc", version="oai_dc/2", values=True)
def map_oai_dc(metadata) -> Values:
    """Simple Dublin Core → Values: py_map_oai_dc, run in C where it can be."""
    if _c_values is not None:
        found = _c_values(metadata)
        if found is not NotImplemented:
            return found
    return py_map_oai_dc(metadata)


# a whole live record to its two rows in C (harvest/crosswalk/_walk.c: dc_record), for map_items
_c_record = speedups.dc_record(REGISTRY["oai_dc"].values, parse_utc) if _c_values is not None else None
if _c_record is not None:
    REGISTRY["oai_dc"] = replace(REGISTRY["oai_dc"], record=_c_record)
