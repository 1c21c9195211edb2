"""Consolidation: every source's records → one row per work across regions."""
