"""oai_dc (Simple Dublin Core, OAI-PMH spec section 6.2 / Appendix): every partner speaks it."""

from __future__ import annotations

import re

from harvest.crosswalk.base import (
    _LOCAL,
    Unmappable,
    Values,
    creator,
    finish,
    local,
    register,
    split_name,
)
from harvest.crosswalk.normalize import (
    normalise_language,
    normalise_resource_type,
    pick_license_from,
    year_of,
)

_ISSN_LIKE = re.compile(r"^(?:e?issn:?\s*)?[0-9]{4}-?[0-9]{3}[0-9xX]$", re.I)


def _creator(value: str) -> tuple | None:
    """OJS and some DSpace sites write 'Family, Given; affiliation; role' into dc:creator."""
    if ";" not in value:  # the common case: no affiliation to split off (`value` is already stripped)
        return value, split_name(value), None, None
    name, _, rest = value.partition(";")
    affiliation = " ".join(p.strip() for p in rest.split(";") if p.strip()) or None
    return creator(name.strip(), None, affiliation)


def _dc_fields(metadata) -> dict[str, list[str]] | None:
    """{local name: [value, ...]} over the children of the <dc> element (`metadata` itself, or its
    first child named dc) in order, each value whitespace-normalised, empty ones left out; None
    when there is no dc element."""
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
    for child in dc:  # text() and local() inlined: this loop runs for every element of every record
        tag = child.tag
        name = known(tag)
        if name is None:
            name = local(tag)
        if not name:  # a comment or processing instruction
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


@register("oai_dc", version="oai_dc/2", values=True)
def map_oai_dc(metadata) -> Values:
    """Simple Dublin Core → Values: walk the dc:* children once; repeated elements keep their order."""
    f = _dc_fields(metadata)
    if f is None:
        raise Unmappable("wrong_format", "no oai_dc:dc element in <metadata>")
    get = f.get
    ids = [(v, None) for v in get("identifier", ())]
    types = [(t, raw) for raw in get("type", ()) for t in [normalise_resource_type(raw)] if t]
    rtype = next((t for t in types if t[0] != "Text"), types[0]) if types else (None, None)
    lang = next(
        ((lang, raw) for raw in get("language", ()) for lang in [normalise_language(raw)] if lang), (None, None)
    )
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
        if descriptions
        else None,
        publisher=f["publisher"][0] if "publisher" in f else None,
        year=min(years) if years else None,
        resource_type=rtype[0],
        language=lang[0],
        license=license,
        raw_identifiers=ids,
        related=related,
        originals={"resource_type": rtype[1], "language": lang[1], "license": license_raw},
    )
