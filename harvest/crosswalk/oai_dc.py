"""oai_dc (Simple Dublin Core, OAI-PMH spec section 6.2 / Appendix): every partner speaks it."""
from __future__ import annotations

from harvest.crosswalk.base import Unmappable, creator, finish, local, register, text
from harvest.crosswalk.normalize import (
    normalise_language, normalise_resource_type, pick_license, year_of,
)


@register("oai_dc", version="oai_dc/1")
def map_oai_dc(metadata) -> dict:
    """Walk the dc:* children once; repeated elements keep their order."""
    dc = metadata if local(metadata.tag) == "dc" else next(
        (c for c in metadata.iterchildren() if local(c.tag) == "dc"), None)
    if dc is None:
        raise Unmappable("wrong_format", "no oai_dc:dc element in <metadata>")
    f: dict[str, list[str]] = {}
    for child in dc.iterchildren():
        value = text(child)
        if value:
            f.setdefault(local(child.tag), []).append(value)
    ids = [(v, None) for v in f.get("identifier", [])]
    types = [t for t in map(normalise_resource_type, f.get("type", [])) if t]
    langs = [lang for lang in map(normalise_language, f.get("language", [])) if lang]
    years = [y for y in map(year_of, f.get("date", [])) if y]
    return finish(
        title=(f.get("title") or [None])[0],
        creators=[creator(n) for n in f.get("creator", [])],
        subjects=f.get("subject", []),
        description=(f.get("description") or [None])[0],
        publisher=(f.get("publisher") or [None])[0],
        year=min(years) if years else None,
        resource_type=next((t for t in types if t != "Text"), types[0] if types else None),
        language=langs[0] if langs else None,
        license=pick_license(f.get("rights", [])),
        raw_identifiers=ids,
        related=[("References", v, None) for v in f.get("relation", [])],
    )
