"""Crosswalks: pure functions from a record's metadata element to canonical fields, one module per
format, each registered under its metadata prefixes (harvest.crosswalk.base.register)."""

from harvest.crosswalk import datacite, marc21, oai_dc, rif  # noqa: F401  (registration side effect)
from harvest.crosswalk.base import REGISTRY, Crosswalk, Unmappable
from harvest.crosswalk.fieldmap import load_field_map
from harvest.errors import HarvestError

__all__ = ["REGISTRY", "Crosswalk", "Unmappable", "get_crosswalk"]


def get_crosswalk(name: str) -> Crosswalk:
    """A registered crosswalk by metadata prefix, or a field map by its YAML path (not cached, so an
    edited map gets a new version)."""
    if name.endswith((".yaml", ".yml")):
        return load_field_map(name)
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise HarvestError(f"no crosswalk for metadata format {name!r} (known: {known})") from None
