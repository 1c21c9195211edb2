"""OAI-PMH 2.0 harvesting: transport (via sickle), page parsing (once, safely) and list paging.

The names are imported on first use, so that a parse worker, which needs only `harvest.oai.page`,
does not load the HTTP stack."""

from __future__ import annotations

import importlib

_WHERE = {
    "OAIClient": "client",
    "Transfer": "client",
    "OAI_NS": "page",
    "Page": "page",
    "parse_page": "page",
    "list_pages": "paging",
}

__all__ = ["OAI_NS", "OAIClient", "Page", "Transfer", "list_pages", "parse_page"]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"harvest.oai.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harvest.oai' has no attribute {name!r}")
