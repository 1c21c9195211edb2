"""Paging through a list verb by resumptionToken: a small state machine that provably stops.

It stops when a page carries no token or an empty one (spec 3.5: the last page's token is empty),
and raises instead of looping when a provider hands back the token it was just given.
"""
from __future__ import annotations

from typing import Iterator

from harvest.errors import ProtocolError


def list_pages(client, verb: str, params: dict, max_pages: int = 10_000_000) -> Iterator:
    """Yield every page of one list request; `params` are the first request's arguments."""
    page = client.request(verb, **params)
    yield page
    seen_last = None
    count = 1
    while page.token:
        if page.token == seen_last:
            raise ProtocolError(f"[{client.source_id}] the provider repeated resumptionToken "
                                f"{page.token!r} back to back at {page.url}; stopping instead of looping")
        if count >= max_pages:
            raise ProtocolError(f"[{client.source_id}] more than {max_pages} pages; stopping at {page.url}")
        seen_last = page.token
        page = client.request(verb, resumptionToken=page.token)
        count += 1
        yield page
