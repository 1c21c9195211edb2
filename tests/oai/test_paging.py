"""Paging by resumptionToken provably stops; tested with no network."""

from __future__ import annotations

import pytest

from harvest.errors import ProtocolError
from harvest.oai.page import Page
from harvest.oai.paging import list_pages


class ScriptedClient:
    """Answers each request with the next token of a script; records what it was asked."""

    source_id = "scripted"

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.asked = []

    def request(self, verb, **params):
        self.asked.append(params)
        token = self.tokens.pop(0)
        return Page(url=f"http://127.0.0.1/{len(self.asked)}", verb=verb, response_date=None, token=token)


@pytest.mark.parametrize(
    "tokens, pages",
    [
        ([None], 1),  # one page, no token element
        (["a", "b", None], 3),  # token chain ending without a token
        (["a", ""], 2),  # an empty final token ends the list (spec 3.5)
    ],
)
def test_lists_end(tokens, pages):
    client = ScriptedClient([t or None for t in tokens])
    assert len(list(list_pages(client, "ListRecords", {"metadataPrefix": "oai_dc"}))) == pages
    assert client.asked[0] == {"metadataPrefix": "oai_dc"}
    assert all(set(a) == {"resumptionToken"} for a in client.asked[1:])


def test_a_token_repeated_back_to_back_stops_with_a_clear_error():
    client = ScriptedClient(["a", "b", "b", "b", "b"])
    with pytest.raises(ProtocolError, match="repeated resumptionToken 'b'"):
        list(list_pages(client, "ListRecords", {"metadataPrefix": "oai_dc"}))
    assert len(client.asked) == 3


@pytest.mark.parametrize("tokens", [["a", "b", "a"], ["a", "b", "c", "d", "b"]], ids=["A-B-A", "longer"])
def test_a_token_used_earlier_in_the_list_stops_it_as_a_cycle(tokens):
    client = ScriptedClient(tokens + ["e"] * 5)
    with pytest.raises(ProtocolError, match="goes round in a cycle"):
        list(list_pages(client, "ListRecords", {"metadataPrefix": "oai_dc"}))
    assert len(client.asked) == len(tokens)  # the page that closes the cycle is the last asked for


def test_a_cycle_back_to_the_token_a_resumed_list_started_from_is_seen():
    client = ScriptedClient(["b", "a", "x"])
    with pytest.raises(ProtocolError, match="cycle"):
        list(list_pages(client, "ListRecords", {"resumptionToken": "a"}))


def test_a_page_cap_stops_endless_lists():
    client = ScriptedClient([str(i) for i in range(100)])
    with pytest.raises(ProtocolError, match="more than 5 pages"):
        list(list_pages(client, "ListRecords", {}, max_pages=5))
