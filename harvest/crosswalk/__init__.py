"""Crosswalks: pure functions from a record's metadata element to canonical fields, per format."""
from harvest.crosswalk.base import REGISTRY, Crosswalk, Unmappable, get_crosswalk

__all__ = ["REGISTRY", "Crosswalk", "Unmappable", "get_crosswalk"]
