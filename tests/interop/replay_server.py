"""Recorded HTTP traffic (vcrpy cassettes) replayed on 127.0.0.1, so real provider answers are
harvested end to end without the network; a request nobody recorded gets 404.

A request matches the recorded one with the same query parameters (order, host and path ignored),
after two readings that do not change what is asked, because the harvester words requests
differently from the recording client:
- `from`/`until` compare as instants: from=2030-01-01 is from=2030-01-01T00:00:00Z, and
  until=2026-04-02 is until=2026-04-02T23:59:59Z (spec 3.3.1: both bounds inclusive);
- an `until` at or after `now` (by default the responseDate of the recorded Identify, which the
  harvester sends as its until) asks for everything, like the recording made without one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.servers import LoopbackServer, QuietHandler


def _instant(value: str, end_of_day: bool) -> datetime:
    dt = datetime.fromisoformat(value)
    if len(value) == 10:
        dt = datetime.combine(dt.date(), time(23, 59, 59) if end_of_day else time(0))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def match_key(params: dict[str, str], now: datetime | None) -> frozenset:
    """The query parameters as compared: datestamps as instants, an until from `now` on dropped."""
    out = dict(params)
    for name in ("from", "until"):
        if name in out:
            try:
                out[name] = _instant(out[name], end_of_day=name == "until")
            except ValueError:
                pass  # not a datestamp: compared as written
    if now and isinstance(out.get("until"), datetime) and out["until"] >= now:
        del out["until"]
    return frozenset(out.items())


def load(cassettes: list[Path], host: str | None = None) -> list[dict]:
    """The GET interactions of vcrpy cassettes (optionally only those recorded for one host)."""
    found = []
    for path in cassettes:
        for item in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["interactions"]:
            request, response = item["request"], item["response"]
            url = urlsplit(request["uri"])
            if request["method"] != "GET" or (host and url.hostname != host):
                continue
            body = response["body"].get("content", response["body"].get("string")) or ""
            found.append(
                {
                    "params": dict(parse_qsl(url.query, keep_blank_values=True)),
                    "status": response["status"] if isinstance(response["status"], int) else response["status"]["code"],
                    "content_type": (response["headers"].get("content-type") or ["text/xml"])[0],
                    "body": body.encode("utf-8") if isinstance(body, str) else body,
                }
            )
    return found


def recorded_now(interactions: list[dict]) -> datetime | None:
    """The responseDate of the first recorded Identify answer."""
    for i in interactions:
        m = i["params"].get("verb") == "Identify" and re.search(rb"<responseDate>([^<]+)<", i["body"])
        if m:
            return _instant(m.group(1).decode().strip(), end_of_day=False)
    return None


class _Handler(QuietHandler):
    def do_GET(self):
        srv = self.server
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if srv.expire_tokens and "resumptionToken" in params:
            params["resumptionToken"] = srv.expired_token
        key = match_key(params, srv.now)
        hit = next((i for i in srv.interactions if match_key(i["params"], srv.now) == key), None)
        status, ctype, body = (
            (hit["status"], hit["content_type"], hit["body"])
            if hit
            else (404, "text/plain", f"no recorded interaction for {self.path}".encode())
        )
        srv.log.append((self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ReplayServer(LoopbackServer):
    """Cassettes served on 127.0.0.1 (a free port). With expire_tokens, every resumptionToken is
    answered as the recorded request for `expired_token` was (a token the provider did not know)."""

    def __init__(
        self,
        cassettes: list[Path],
        host: str | None = None,
        now: datetime | None = None,
        expire_tokens: bool = False,
        expired_token: str = "XXX",
    ):
        super().__init__(_Handler, "/oai2d")
        self.httpd.interactions = load(cassettes, host)
        self.httpd.now = now or recorded_now(self.httpd.interactions)
        self.httpd.expire_tokens, self.httpd.expired_token = expire_tokens, expired_token
        self.httpd.log = []

    @property
    def log(self) -> list[tuple[str, int]]:
        """(path?query, status served) of every request, in order."""
        return self.httpd.log

    @property
    def now(self) -> datetime | None:
        return self.httpd.now
