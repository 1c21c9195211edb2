"""The client against real HTTP servers on 127.0.0.1: the demo network and a misbehaving one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from harvest.config.sources import Politeness
from harvest.errors import OAIError, TransportError
from harvest.oai.client import OAIClient, retry_after_seconds
from tests.conftest import DATA
from tests.oai.scripted_server import ScriptedServer

FAST = Politeness(max_retries=3, max_retry_after_seconds=0.05, timeout_seconds=5)
OK = (200, {}, (DATA / "oai" / "sickle_ListIdentifiers2.xml").read_bytes())


def client(url, politeness=FAST):
    return OAIClient(url, "flaky", politeness, backoff_base=0.001)


def test_retry_after_in_both_forms():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    http_date = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds("120", now.timestamp()) == 120
    assert retry_after_seconds(http_date, now=now.timestamp()) == pytest.approx(90)
    assert retry_after_seconds("garbage", now.timestamp()) is None


@pytest.mark.parametrize(
    "failure",
    [
        (503, {"Retry-After": "3"}, b"busy"),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"slow down"),
        (500, {}, b"oops"),
        (502, {}, b""),
        "reset",
        ("cut", OK[2], 300),  # the connection ends mid-body
        ("gzip-garbage", b"not gzip at all"),
    ],
)
def test_transient_failures_are_retried(failure):
    with ScriptedServer([failure, failure, OK]) as srv, client(srv.url) as c:
        page = c.request("ListIdentifiers", metadataPrefix="oai_dc")
    assert len(page.items) > 0
    assert c.transfer.retries == 2 and len(srv.requests) == 3
    assert c.transfer.wait_seconds <= 2 * FAST.max_retry_after_seconds + 1e-6  # Retry-After capped


def test_giving_up_names_source_url_and_reason():
    with ScriptedServer([(503, {}, b"")] * 4) as srv, client(srv.url) as c:
        with pytest.raises(TransportError) as exc:
            c.request("ListRecords", metadataPrefix="oai_dc")
    message = str(exc.value)
    assert "[flaky]" in message and "verb=ListRecords" in message and "HTTP 503" in message
    assert "4 attempt(s)" in message


def test_a_body_cut_short_every_time_fails_with_the_url_and_the_reason():
    with ScriptedServer([("cut", OK[2], 300)] * 4) as srv, client(srv.url) as c:
        with pytest.raises(TransportError) as exc:
            c.request("ListRecords", metadataPrefix="oai_dc")
    message = str(exc.value)
    assert "[flaky]" in message and "verb=ListRecords" in message and "4 attempt(s)" in message
    assert "ChunkedEncodingError" in message or "IncompleteRead" in message or "Connection broken" in message


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_page_past_max_page_mb_is_refused_without_being_held_whole(encoding):
    """A response larger than max_page_mb once decoded (here 3 MB against 1 MB; gzipped, 3 MB of
    spaces are a few kB on the wire: a small compression bomb) is refused at once, naming the
    limit; nothing is retried, and the next response on the same client is read as usual."""
    import gzip

    big = OK[2].replace(b"<ListIdentifiers>", b"<ListIdentifiers>" + b" " * 3_000_000, 1)
    body, headers = (gzip.compress(big), {"Content-Encoding": "gzip"}) if encoding == "gzip" else (big, {})
    assert encoding == "identity" or len(body) < 100_000
    small = Politeness(max_retries=3, max_retry_after_seconds=0.05, timeout_seconds=5, max_page_mb=1)
    with ScriptedServer([(200, headers, body), OK]) as srv, client(srv.url, small) as c:
        with pytest.raises(TransportError) as exc:
            c.request("ListRecords", metadataPrefix="oai_dc")
        assert len(srv.requests) == 1 and c.transfer.retries == 0
        message = str(exc.value)
        assert "[flaky]" in message and "verb=ListRecords" in message and "more than 1 MB (max_page_mb)" in message
        assert len(c.request("ListIdentifiers", metadataPrefix="oai_dc").items) > 0


def test_oai_errors_sent_with_http_422_are_oai_errors_not_http_errors():
    body = (DATA / "oai" / "zenodo_422_badResumptionToken.xml").read_bytes()
    with ScriptedServer([(422, {}, body)]) as srv, client(srv.url) as c:
        with pytest.raises(OAIError) as exc:
            c.request("ListRecords", resumptionToken="XXX")
    assert exc.value.code == "badResumptionToken"


def test_no_records_match_is_an_empty_page_even_with_422():
    body = (DATA / "oai" / "zenodo_422_noRecordsMatch.xml").read_bytes()
    with ScriptedServer([(422, {}, body)]) as srv, client(srv.url) as c:
        page = c.request("ListRecords", metadataPrefix="oai_dc", **{"from": "2030-01-01"})
    assert page.items == [] and page.token is None


def test_http_error_without_oai_body_is_a_transport_error():
    with ScriptedServer([(404, {"Content-Type": "text/html"}, b"<html>not here</html>")]) as srv, client(srv.url) as c:
        with pytest.raises(TransportError, match="HTTP 404"):
            c.request("Identify")


def test_one_connection_serves_many_pages(demo_network):
    with client(demo_network.url_for("mosp-malaysia")) as c:
        pages = [c.request("ListIdentifiers", metadataPrefix="oai_dc")]
        while pages[-1].token:
            pages.append(c.request("ListIdentifiers", resumptionToken=pages[-1].token))
        pool = c._sickle.session.get_adapter(c.endpoint).poolmanager
        assert len(pages) > 3 and len(pool.pools) == 1


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"PARTNER_X_USER": "harvester", "PARTNER_X_PASSWORD": "s3cret"}, "Basic aGFydmVzdGVyOnMzY3JldA=="),
        ({"PARTNER_X_TOKEN": "tok-123"}, "Bearer tok-123"),
    ],
)
def test_credentials_come_from_the_environment_never_the_yaml(monkeypatch, env, expected):
    from harvest.config.sources import Source

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with ScriptedServer([OK]) as srv:
        src = Source(
            id="x", name="x", region="europe", endpoint=srv.url, metadata_prefix="oai_dc", credentials_env="PARTNER_X"
        )
        creds = src.env_credentials()
        with OAIClient(srv.url, "x", FAST, credentials=creds) as c:
            c.request("ListIdentifiers", metadataPrefix="oai_dc")
    assert srv.headers[0]["Authorization"] == expected
    assert "s3cret" not in repr(creds) and "tok-123" not in repr(creds)


def test_credentials_named_but_not_set_are_a_config_error():
    from harvest.config.sources import Source
    from harvest.errors import ConfigError

    src = Source(
        id="x",
        name="x",
        region="europe",
        endpoint="http://127.0.0.1:9/oai",
        metadata_prefix="oai_dc",
        path="sources/x.yaml",
        credentials_env="NOBODY_SET_THIS",
    )
    with pytest.raises(ConfigError, match="field 'credentials_env': neither NOBODY_SET_THIS_USER"):
        src.env_credentials()
