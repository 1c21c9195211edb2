"""Fault injection for the demo partner network: each partner can misbehave the way real
repositories do, on chosen list pages, a chosen number of times.

    net.inject("eosc-zenodo", Fault("status", status=503, retry_after="5", page=2, times=2))
    harvest demo serve --fault "eosc-zenodo:status,status=503,retry_after=5,page=2,times=2"
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

# Before the provider answers: replace the answer.
PRE = ("status", "reset", "slow", "oai_error", "expire_token", "hide_records")
# After the provider answers: damage the page it produced.
POST = (
    "repeat_token",
    "cycle_token",
    "response_date",
    "illegal_chars",
    "big_page",
    "xxe",
    "billion_laughs",
    "malformed",
    "undecodable",
    "inflate_size",
    "cut",
)
KINDS = PRE + POST

XXE = b'<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = (
    b'<!DOCTYPE OAI-PMH [<!ENTITY l0 "ha">'
    + b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((i,) + (i - 1,) * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)


@dataclass
class Fault:
    kind: str
    page: int | None = None  # list page (0 = first page of a list); None = any request
    verb: str | None = "ListRecords"  # None = any verb
    times: int | None = 1  # how often it fires; None = every time
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    code: str = "badArgument"
    ids: tuple[str, ...] = ()
    value: str = ""  # response_date: what the page's <responseDate> says instead
    fired: int = field(default=0, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r} (one of {', '.join(KINDS)})")

    def matches(self, verb: str | None, page: int | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.verb is not None and verb != self.verb:
            return False
        return self.page is None or self.page == page


def parse_fault(spec: str) -> tuple[str, Fault]:
    """'partner:kind,key=value,...' → (partner id, Fault); 'times=always' fires every time."""
    partner, _, rest = spec.partition(":")
    kind, *pairs = rest.split(",")
    types = {f.name: f.type for f in fields(Fault)}
    kwargs: dict = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types or key in ("kind", "fired"):
            raise ValueError(f"fault {spec!r}: unknown key {key!r}")
        if key in ("page", "times", "status"):
            kwargs[key] = None if value in ("any", "always") else int(value)
        elif key == "seconds":
            kwargs[key] = float(value)
        elif key == "ids":
            kwargs[key] = tuple(value.split("|"))
        else:
            kwargs[key] = None if value == "any" and key == "verb" else value
    return partner, Fault(kind.strip(), **kwargs)


class FaultPlan:
    """The faults of one partner; thread-safe because the server answers requests concurrently."""

    def __init__(self):
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def take(self, verb: str | None, page: int | None, stage: tuple[str, ...]) -> list[Fault]:
        """The faults that fire for this request at this stage (each firing is counted)."""
        with self._lock:
            hits = [f for f in self.faults if f.kind in stage and f.matches(verb, page)]
            for f in hits:
                f.fired += 1
            return hits


def _with_token(body: bytes, token: str) -> bytes:
    """The page with its resumptionToken's value replaced."""
    start = body.rfind(b"<resumptionToken")
    open_end = body.find(b">", start) + 1
    close = body.find(b"</resumptionToken>", open_end)
    if start >= 0 and close >= 0:
        return body[:open_end] + token.encode() + body[close:]
    return body


def damage(body: bytes, fault: Fault, request_token: str | None, earlier_token: str | None = None) -> bytes:
    """Apply one POST fault to a page produced by the provider; `earlier_token`: the token that
    asked for the page before this one."""
    head, sep, rest = body.partition(b"?>")
    if fault.kind == "repeat_token" and request_token:  # the token just used, back to back
        return _with_token(body, request_token)
    if fault.kind == "cycle_token" and earlier_token:  # the token of the page before: A → B → A
        return _with_token(body, earlier_token)
    if fault.kind == "response_date":
        start, end = body.find(b"<responseDate>"), body.find(b"</responseDate>")
        if start >= 0 and end >= 0:
            return body[: start + len(b"<responseDate>")] + fault.value.encode() + body[end:]
        return body
    if fault.kind == "illegal_chars":
        return body.replace(b"<metadata>", b"<metadata>\x0b\x01", 1)
    if fault.kind == "big_page":  # one text node of 12 MB: libxml2 refuses it unless huge_tree is on
        return body.replace(b"<metadata>", b"<metadata>" + b"x" * (12 * 1024 * 1024), 1)
    if fault.kind == "xxe":
        return head + sep + b"\n" + XXE + rest.replace(b"<identifier>", b"<identifier>&xxe;", 1)
    if fault.kind == "billion_laughs":
        return head + sep + b"\n" + LAUGHS + rest.replace(b"<identifier>", b"<identifier>&l9;", 1)
    if fault.kind == "malformed":  # an unclosed element in the middle, the token left intact
        return body.replace(b"</header>", b"</header><broken>", 1)
    if fault.kind == "undecodable":
        return body.replace(b"<metadata>", b"<metadata>\xff\xfe\xfd", 1)
    if fault.kind == "inflate_size":
        return body.replace(b'completeListSize="', b'completeListSize="1', 1)
    return body
