"""oai_dc (Simple Dublin Core, OAI-PMH spec section 6.2 / Appendix): every partner speaks it."""
from __future__ import annotations

import re

from harvest.crosswalk.base import _LOCAL, Unmappable, creator, finish, local, register
from harvest.crosswalk.normalize import (
    normalise_language, normalise_resource_type, pick_license_from, year_of,
)


_ISSN_LIKE = re.compile(r"^(?:e?issn:?\s*)?\d{4}-?\d{3}[\dxX]$", re.I)


def _creator(value: str) -> dict | None:
    """OJS and some DSpace sites write 'Family, Given; affiliation; role' into dc:creator."""
    name, _, rest = value.partition(";")
    affiliation = " ".join(p.strip() for p in rest.split(";") if p.strip()) or None
    return creator(name.strip(), None, affiliation)


@register("oai_dc", version="oai_dc/2")
def map_oai_dc(metadata) -> dict:
    """Walk the dc:* children once; repeated elements keep their order."""
    dc = metadata if local(metadata.tag) == "dc" else next(
        (c for c in metadata.iterchildren() if local(c.tag) == "dc"), None)
    if dc is None:
        raise Unmappable("wrong_format", "no oai_dc:dc element in <metadata>")
    f: dict[str, list[str]] = {}
    known = _LOCAL.get
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
    ids = [(v, None) for v in f.get("identifier", [])]
    types = [(t, raw) for raw in f.get("type", []) for t in [normalise_resource_type(raw)] if t]
    langs = [(lang, raw) for raw in f.get("language", []) for lang in [normalise_language(raw)] if lang]
    years = [y for y in map(year_of, f.get("date", [])) if y]
    rtype = next((t for t in types if t[0] != "Text"), types[0] if types else (None, None))
    lang = langs[0] if langs else (None, None)
    license, license_raw = pick_license_from(f.get("rights", []))
    return finish(
        title=(f.get("title") or [None])[0],
        creators=[_creator(n) for n in f.get("creator", [])],
        subjects=f.get("subject", []),
        description=next((d for d in f.get("description", []) if any(c.isalnum() for c in d)), None),
        publisher=(f.get("publisher") or [None])[0],
        year=min(years) if years else None,
        resource_type=rtype[0],
        language=lang[0],
        license=license,
        raw_identifiers=ids,
        related=[("References", v, None) for v in f.get("relation", [])]
        + [("IsPartOf", v, "ISSN") for v in f.get("source", []) if _ISSN_LIKE.match(v)],
        originals={"resource_type": rtype[1], "language": lang[1], "license": license_raw},
    )
