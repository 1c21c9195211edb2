"""Paging through a list verb by resumptionToken: a small state machine that provably stops.

It stops when a page carries no token or an empty one (spec 3.5: the last page's token is empty),
raises instead of looping when a provider hands back a token already used in this list (the one
it was just given, or one from further back: A → B → A), and steps over
an unreadable page when its token can still be found in the raw bytes (the page is yielded with
`error` set, so the caller quarantines it).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from harvest.errors import PageError, ProtocolError
from harvest.oai.page import Page, salvage_token


def _fetch(client, verb: str, params: dict) -> Page:
    try:
        return client.request(verb, **params)
    except PageError as exc:
        token = salvage_token(exc.content)
        if token is None or token == params.get("resumptionToken"):
            raise
        return Page(url=exc.url, verb=verb, response_date=None, token=token, error=exc)


def list_pages(client, verb: str, params: dict, max_pages: int = 10_000_000) -> Iterator[Page]:
    """Yield every page of one list request. `params` are the first request's arguments: either
    metadataPrefix/set/from/until, or resumptionToken alone to continue a list from a checkpoint.

    The next page is requested while the caller works on the current one (network and parsing
    overlap; requests are still sent one at a time, so politeness is unchanged)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"prefetch-{client.source_id}") as pool:
        pending = pool.submit(_fetch, client, verb, params)
        sent = params.get("resumptionToken")
        seen = {sent: 0} if sent else {}  # every token sent in this list → the page it asked for
        count = 1
        while pending is not None:
            page = pending.result()
            pending, stop = None, None
            if page.token:
                if page.token == sent:
                    stop = ProtocolError(
                        f"[{client.source_id}] the provider repeated resumptionToken "
                        f"{page.token!r} back to back at {page.url}; stopping instead of looping"
                    )
                elif page.token in seen:  # A → B → A: the list would go round for ever
                    stop = ProtocolError(
                        f"[{client.source_id}] the provider handed out resumptionToken {page.token!r} "
                        f"again at {page.url} ({count - seen[page.token]} pages after it was first "
                        "used): the list goes round in a cycle; stopping instead of looping"
                    )
                elif count >= max_pages:
                    stop = ProtocolError(f"[{client.source_id}] more than {max_pages} pages; stopping at {page.url}")
                else:
                    sent = page.token
                    seen[sent] = count
                    pending = pool.submit(_fetch, client, verb, {"resumptionToken": sent})
                    count += 1
            yield page  # the records of the page that broke the protocol are kept
            if stop is not None:
                raise stop
