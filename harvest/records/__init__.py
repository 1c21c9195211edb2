"""A page's OAI-PMH records → canonical rows (or tombstones, or quarantine entries) and raw rows,
as Arrow tables of the declared schemas."""
