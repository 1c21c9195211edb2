"""Airflow pools per partner host, from the source configs (no Airflow import: it only writes the
JSON that `airflow pools import` reads). Harvest tasks of every source on a host share its pool,
so concurrent runs never press a partner harder than its politeness allows."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from harvest.config.sources import Source
from harvest.errors import ConfigError


def pool_for(source: Source) -> dict:
    """{'name', 'slots', 'description'} of the pool for a source's host (default port dropped)."""
    try:
        endpoint = source.resolved_endpoint()
    except ConfigError:  # an unset ${VAR}: the pool is still named after the config's endpoint text
        endpoint = source.endpoint
    host = urlsplit(endpoint).hostname or "unknown"
    return {
        "name": "oai_host_" + re.sub(r"[^a-z0-9]+", "_", host.lower()).strip("_"),
        "slots": source.politeness.max_concurrency,
        "description": f"OAI-PMH requests to {host} (gosc-harvest)",
    }


def pools(sources: list[Source]) -> dict:
    """The `airflow pools import` document: one pool per host, the smallest max_concurrency wins."""
    out: dict[str, dict] = {}
    for src in sources:
        p = pool_for(src)
        if p["name"] not in out or p["slots"] < out[p["name"]]["slots"]:
            out[p["name"]] = p
    return {
        name: {"slots": p["slots"], "description": p["description"], "include_deferred": False}
        for name, p in sorted(out.items())
    }
