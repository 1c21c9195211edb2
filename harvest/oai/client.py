"""The one place that touches the network: sickle's transport on a keep-alive session, with our
retry, politeness and OAI error handling on top.

sickle 0.7 retries only 503 with integer Retry-After and turns OAI errors sent with HTTP 422
(Zenodo does this) into a bare HTTPError, so `request` reads every body as OAI-PMH first and
decides from the <error> code, not from the HTTP status.
"""

from __future__ import annotations

import email.utils
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import urlsplit

import requests
from sickle import Sickle

from harvest.clock import REAL, Clock
from harvest.config.credentials import Credentials
from harvest.config.sources import Politeness
from harvest.errors import OAIError, PageError, TransportError
from harvest.oai.page import OAI_NS, Page, parse_page

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# what a flaky network or server does to an exchange, retried: no connection, no answer in time,
# a body cut short (requests: ChunkedEncodingError, "Connection broken: IncompleteRead"), a body
# that does not decode as its Content-Encoding says
RETRY_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
USER_AGENT = "gosc-harvest/0.1 (+https://gosc.example/harvest)"

_HOST_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_HOST_LOCK = threading.Lock()


def host_slots(endpoint: str, max_concurrency: int) -> threading.BoundedSemaphore:
    """One semaphore per partner host, shared by every client in this process: concurrent windows
    or sources on the same host never exceed its max_concurrency (the first config seen sets it)."""
    host = urlsplit(endpoint).netloc.lower()
    with _HOST_LOCK:
        if host not in _HOST_SLOTS:
            _HOST_SLOTS[host] = threading.BoundedSemaphore(max_concurrency)
        return _HOST_SLOTS[host]


class _SessionSickle(Sickle):
    """sickle with one pooled HTTP session (sickle opens a new connection for every page)."""

    def __init__(self, endpoint: str, timeout: float):
        super().__init__(endpoint, timeout=timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def _request(self, kwargs):
        """The response with its body not read yet (OAIClient._send reads it, bounded)."""
        if self.http_method == "GET":
            return self.session.get(self.endpoint, params=kwargs, stream=True, **self.request_args)
        return self.session.post(self.endpoint, data=kwargs, stream=True, **self.request_args)


@dataclass
class Transfer:
    """Counters for the run report."""

    requests: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    illegal_chars_removed: int = 0
    events: list[str] = field(default_factory=list)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds: both forms of RFC 9110 10.2.3 (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class OAIClient:
    """Requests against one OAI-PMH endpoint, polite and retried; every page parsed once."""

    def __init__(
        self,
        endpoint: str,
        source_id: str = "",
        politeness: Politeness | None = None,
        backoff_base: float = 1.0,
        clock: Clock = REAL,
        credentials: Credentials | None = None,
    ):
        self.endpoint = endpoint
        self.source_id = source_id
        self.politeness = politeness or Politeness()
        self.backoff_base = backoff_base
        self.clock = clock
        self.transfer = Transfer()
        self._sickle = _SessionSickle(endpoint, timeout=self.politeness.timeout_seconds)
        if credentials:
            self._sickle.session.auth = credentials.basic
            self._sickle.session.headers.update(credentials.headers)
        self._slots = host_slots(endpoint, self.politeness.max_concurrency)
        self._last_request = float("-inf")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._sickle.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _url(self, params: dict) -> str:
        return requests.Request("GET", self.endpoint, params=params).prepare().url

    def _pause(self) -> None:
        delay = self.politeness.delay_seconds
        if delay:
            with self._lock:
                wait = self._last_request + delay - self.clock.monotonic()
                if wait > 0:
                    self.clock.sleep(wait)
                    self.transfer.wait_seconds += wait
                self._last_request = self.clock.monotonic()

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        cap = self.politeness.max_retry_after_seconds
        told = retry_after_seconds(retry_after, self.clock.time())
        if told is not None:
            return min(told, cap)
        return min(cap, self.backoff_base * 2**attempt * (0.5 + random.random()))

    def _send(self, params: dict, url: str) -> tuple[requests.Response, bytes]:
        """One HTTP exchange with retries; the final response and its body (read within the
        retries: a body cut short is retried like a dropped connection)."""
        attempts = self.politeness.max_retries + 1
        for attempt in range(attempts):
            self._pause()
            self.transfer.requests += 1
            try:
                with self._slots:
                    response = self._sickle._request(params)
                    with response:  # the connection goes back to the pool, or is closed if unread
                        if response.status_code in RETRY_STATUS:
                            reason, retry_after = f"HTTP {response.status_code}", response.headers.get("Retry-After")
                        else:
                            return response, self._body(response, url)
            except RETRY_EXCEPTIONS as exc:
                reason, retry_after = f"{type(exc).__name__}: {exc}", None
            except requests.RequestException as exc:  # a bad URL, a redirect loop: no retry mends it
                raise TransportError(f"[{self.source_id}] {url} failed: {type(exc).__name__}: {exc}") from None
            if attempt + 1 == attempts:
                raise TransportError(f"[{self.source_id}] {url} failed after {attempts} attempt(s): {reason}")
            wait = self._backoff(attempt, retry_after)
            self.transfer.retries += 1
            self.transfer.wait_seconds += wait
            self.transfer.events.append(f"retry {attempt + 1} after {reason}: waited {wait:.1f}s")
            self.clock.sleep(wait)
        raise AssertionError("unreachable")

    def _body(self, response: requests.Response, url: str) -> bytes:
        """The whole body, decoded, read in 1 MB pieces (requests' own `.content` reads 10 kB at a
        time); past max_page_mb the read stops and the page is refused, so that neither a huge
        page nor a compression bomb is held in memory."""
        limit = int(self.politeness.max_page_mb * 1e6)
        parts, size = [], 0
        for part in response.iter_content(1 << 20):
            size += len(part)
            if size > limit:
                raise TransportError(
                    f"[{self.source_id}] {url} answered with more than "
                    f"{self.politeness.max_page_mb:g} MB (max_page_mb); the page was refused"
                )
            parts.append(part)
        return b"".join(parts)

    def request(self, verb: str, **params) -> Page:
        """Send one OAI-PMH request and return its parsed page.

        noRecordsMatch is an empty page (spec 3.6: not a failure); any other <error> raises OAIError.
        """
        return self.read(*self.fetch(verb, **params))

    def fetch(self, verb: str, **params) -> tuple[str, bytes, int]:
        """Send one OAI-PMH request (with retries and politeness); the URL, body and HTTP status,
        not parsed yet (a parse worker may read the body: see harvest.pipeline)."""
        params = {"verb": verb, **{k: v for k, v in params.items() if v is not None}}
        url = self._url(params)
        response, content = self._send(params, url)
        self.transfer.bytes += len(content)
        return url, content, response.status_code

    def read(self, url: str, content: bytes, status: int = 200) -> Page:
        """Parse a fetched body as `request` does: OAI errors raised, noRecordsMatch an empty page."""
        try:
            page = parse_page(content, url, self.source_id)
        except PageError as exc:
            if status >= 400:
                raise TransportError(
                    f"[{self.source_id}] {url} answered HTTP {status} without an OAI-PMH body"
                ) from None
            exc.content = content
            raise
        self.transfer.illegal_chars_removed += page.illegal_chars_removed
        for code, message in page.errors:
            if code == "noRecordsMatch":
                page.items, page.token = [], None
                return page
            raise OAIError(code, message, url, self.source_id)
        if status >= 400:
            raise TransportError(f"[{self.source_id}] {url} answered HTTP {status}")
        return page

    def identify(self) -> dict:
        """Identify's fields that drive harvesting: granularity, earliestDatestamp, deletedRecord."""
        page = self.request("Identify")
        info = {}
        ident = page.root.find(f"{{{OAI_NS}}}Identify")
        for child in ident.iterchildren() if ident is not None else ():
            if isinstance(child.tag, str) and child.tag.startswith(f"{{{OAI_NS}}}") and len(child) == 0:
                info.setdefault(child.tag.split("}")[1], (child.text or "").strip())
        info["responseDate"] = page.response_date
        return info
