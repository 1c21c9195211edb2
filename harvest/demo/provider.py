"""An OAI-PMH 2.0 data provider over one demo partner's catalogue: all six verbs and every error code.

Pure request → response logic (no sockets): `Provider.handle(args)` takes the request arguments as
parsed from the query string or POST body (name → list of values) and returns (HTTP status, body).
Spec: https://www.openarchives.org/OAI/openarchivesprotocol.html
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from harvest.demo.catalog import DemoRecord, records_for
from harvest.demo.formats import FORMATS, SERIALISERS
from harvest.demo.partners import Partner

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
)
_ARGS = {  # verb → (required, optional, exclusive)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
}
_SECRET = b"gosc-demo-token-v1"


class OAIProblem(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


def _fmt(dt: datetime, granularity: str) -> str:
    return dt.strftime("%Y-%m-%d") if granularity == "YYYY-MM-DD" else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datestamp(value: str, granularity: str, *, end: bool = False) -> datetime:
    """A from/until argument in the repository's granularity (spec 3.3.1, 4.2); else badArgument."""
    try:
        if len(value) == 10:
            dt = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return dt.replace(hour=23, minute=59, second=59) if end else dt
        if granularity == "YYYY-MM-DD":
            raise OAIProblem("badArgument", f"{value!r} is finer than the repository granularity YYYY-MM-DD")
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise OAIProblem("badArgument", f"{value!r} is not a valid UTCdatetime") from None


class Provider:
    """The data provider of one demo partner."""

    def __init__(self, partner: Partner, base_url: str, page_size: int | None = None):
        self.partner = partner
        self.base_url = base_url
        self.page_size = page_size or partner.page_size
        self.records = records_for(partner)
        self.stamps = [r.datestamp for r in self.records]
        self.by_id = {r.oai_id: r for r in self.records}
        self._cache: dict[tuple[str, str], str] = {}
        self.hidden: set[str] = set()  # identifiers that have vanished (fault injection)
        self._selections: dict[tuple, list[DemoRecord]] = {}

    # ---- entry point -------------------------------------------------------------------------
    def handle(self, args: dict[str, list[str]], now: datetime | None = None) -> tuple[int, bytes]:
        now = now or datetime.now(UTC)
        verb_values = args.get("verb", [])
        try:
            if len(verb_values) != 1 or verb_values[0] not in _ARGS:
                raise OAIProblem("badVerb", "missing, repeated or illegal verb")
            verb = verb_values[0]
            flat = self._check_args(verb, args)
            body = getattr(self, f"_{verb}")(flat)
            request = f"<request{''.join(f' {k}={quoteattr(v)}' for k, v in flat.items())}>"
        except OAIProblem as p:
            body = f'<error code="{p.code}">{escape(p.message)}</error>'
            # spec 3.6: for badVerb/badArgument the request element carries no attributes
            attrs = (
                ""
                if p.code in ("badVerb", "badArgument")
                else "".join(f" {k}={quoteattr(v[0])}" for k, v in args.items() if len(v) == 1)
            )
            request = f"<request{attrs}>"
        xml = (
            f"{_ENVELOPE}<responseDate>{now.strftime('%Y-%m-%dT%H:%M:%SZ')}</responseDate>"
            f"{request}{escape(self.base_url)}</request>{body}</OAI-PMH>"
        )
        return 200, xml.encode("utf-8")

    def _check_args(self, verb: str, args: dict[str, list[str]]) -> dict[str, str]:
        required, optional, exclusive = _ARGS[verb]
        given = {k: v for k, v in args.items() if k != "verb"}
        for k, v in given.items():
            if len(v) != 1:
                raise OAIProblem("badArgument", f"argument {k!r} is repeated")
            if k not in required | optional and k != exclusive:
                raise OAIProblem("badArgument", f"illegal argument {k!r} for {verb}")
        flat = {"verb": verb, **{k: v[0] for k, v in given.items()}}
        if exclusive and exclusive in given:
            if len(given) > 1:
                raise OAIProblem("badArgument", f"{exclusive} is an exclusive argument")
            return flat
        missing = required - set(given)
        if missing:
            raise OAIProblem("badArgument", f"missing required argument(s) {', '.join(sorted(missing))}")
        return flat

    # ---- verbs ---------------------------------------------------------------------------------
    def _Identify(self, a) -> str:
        p = self.partner
        earliest = datetime.fromisoformat(p.earliest.replace("Z", "+00:00"))
        return (
            "<Identify>"
            f"<repositoryName>{escape(p.name)}</repositoryName>"
            f"<baseURL>{escape(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            f"<adminEmail>{p.admin_email}</adminEmail>"
            f"<earliestDatestamp>{_fmt(earliest, p.granularity)}</earliestDatestamp>"
            f"<deletedRecord>{p.deleted_record}</deletedRecord><granularity>{p.granularity}</granularity>"
            '<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
            'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"><scheme>oai</scheme>'
            f"<repositoryIdentifier>{p.repository_id}</repositoryIdentifier><delimiter>:</delimiter>"
            f"<sampleIdentifier>oai:{p.repository_id}:1</sampleIdentifier></oai-identifier></description>"
            "</Identify>"
        )

    def _ListMetadataFormats(self, a) -> str:
        if "identifier" in a and a["identifier"] not in self.by_id:
            raise OAIProblem("idDoesNotExist", f"{a['identifier']!r} is unknown here")
        items = "".join(
            f"<metadataFormat><metadataPrefix>{m}</metadataPrefix><schema>{FORMATS[m][0]}</schema>"
            f"<metadataNamespace>{FORMATS[m][1]}</metadataNamespace></metadataFormat>"
            for m in self.partner.formats
        )
        return f"<ListMetadataFormats>{items}</ListMetadataFormats>"

    def _ListSets(self, a) -> str:
        if "resumptionToken" in a:
            raise OAIProblem("badResumptionToken", "ListSets is complete in one response")
        if not self.partner.sets:
            raise OAIProblem("noSetHierarchy", "this repository does not support sets")
        items = "".join(
            f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(n)}</setName></set>" for s, n in self.partner.sets
        )
        return f"<ListSets>{items}</ListSets>"

    def _GetRecord(self, a) -> str:
        prefix = self._prefix(a["metadataPrefix"])
        rec = self.by_id.get(a["identifier"])
        if rec is None or rec.oai_id in self.hidden:
            raise OAIProblem("idDoesNotExist", f"{a['identifier']!r} is unknown here")
        return f"<GetRecord>{self._record(rec, prefix)}</GetRecord>"

    def _ListIdentifiers(self, a) -> str:
        return self._list("ListIdentifiers", a)

    def _ListRecords(self, a) -> str:
        return self._list("ListRecords", a)

    # ---- helpers ---------------------------------------------------------------------------------
    def _prefix(self, prefix: str) -> str:
        if prefix not in self.partner.formats:
            raise OAIProblem("cannotDisseminateFormat", f"{prefix!r} is not served here")
        return prefix

    def _header(self, r: DemoRecord) -> str:
        status = ' status="deleted"' if r.deleted else ""
        sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in r.sets)
        return (
            f"<header{status}><identifier>{escape(r.oai_id)}</identifier>"
            f"<datestamp>{_fmt(r.datestamp, self.partner.granularity)}</datestamp>{sets}</header>"
        )

    def _record(self, r: DemoRecord, prefix: str) -> str:
        key = (r.oai_id, prefix)
        if key not in self._cache:
            self._cache[key] = self._render(r, prefix)
        return self._cache[key]

    def _render(self, r: DemoRecord, prefix: str) -> str:
        if r.deleted:
            return f"<record>{self._header(r)}</record>"
        return f"<record>{self._header(r)}<metadata>{SERIALISERS[prefix](r.work, self.partner)}</metadata></record>"

    def _select(self, prefix: str, set_spec: str | None, frm: str | None, until: str | None) -> list[DemoRecord]:
        g = self.partner.granularity
        if frm and until and len(frm) != len(until):
            raise OAIProblem("badArgument", "from and until must have the same granularity")
        lo = parse_datestamp(frm, g) if frm else None
        hi = parse_datestamp(until, g, end=True) if until else None
        if lo and hi and lo > hi:
            raise OAIProblem("badArgument", "from is later than until")
        if set_spec is not None and not self.partner.sets:
            raise OAIProblem("noSetHierarchy", "this repository does not support sets")
        key = (set_spec, lo, hi, frozenset(self.hidden))
        chosen = self._selections.get(key)
        if chosen is None:  # computed once per list, not once per page: large catalogues stay O(n)
            start = bisect.bisect_left(self.stamps, lo) if lo else 0
            stop = bisect.bisect_right(self.stamps, hi) if hi else len(self.records)
            chosen = [
                r
                for r in self.records[start:stop]
                if r.oai_id not in self.hidden
                and (set_spec is None or any(s == set_spec or s.startswith(set_spec + ":") for s in r.sets))
            ]
            if len(self._selections) > 64:
                self._selections.clear()
            self._selections[key] = chosen
        if not chosen:
            raise OAIProblem("noRecordsMatch", "no records match the request")
        return chosen

    def _list(self, verb: str, a: dict) -> str:
        if "resumptionToken" in a:
            state = self._decode(a["resumptionToken"])
        else:
            state = {
                "m": self._prefix(a["metadataPrefix"]),
                "s": a.get("set"),
                "f": a.get("from"),
                "u": a.get("until"),
                "o": 0,
            }
        chosen = self._select(state["m"], state["s"], state["f"], state["u"])
        offset = state["o"]
        if offset >= len(chosen):
            raise OAIProblem("badResumptionToken", "the token points past the end of the list")
        page = chosen[offset : offset + self.page_size]
        if verb == "ListRecords":
            items = "".join(self._record(r, state["m"]) for r in page)
        else:
            items = "".join(self._header(r) for r in page)
        nxt = offset + len(page)
        token = ""
        if nxt < len(chosen) or offset > 0:
            value = self._encode({**state, "o": nxt}) if nxt < len(chosen) else ""
            token = f'<resumptionToken completeListSize="{len(chosen)}" cursor="{offset}">{value}</resumptionToken>'
        return f"<{verb}>{items}{token}</{verb}>"

    def page_of(self, token: str) -> int | None:
        """The list page a resumptionToken asks for (0 is the first page), None if invalid."""
        try:
            return self._decode(token)["o"] // self.page_size
        except (OAIProblem, KeyError, TypeError):
            return None

    def rewind(self, token: str, pages: int) -> str | None:
        """The resumptionToken that asks for the page `pages` before the one `token` asks for
        (None for the list's first page, which is asked for without a token)."""
        try:
            state = self._decode(token)
        except OAIProblem:
            return None
        offset = state["o"] - pages * self.page_size
        return self._encode({**state, "o": offset}) if offset > 0 else None

    def error_page(self, code: str, message: str, now: datetime | None = None) -> bytes:
        """An OAI-PMH error response (what a faulty partner sends instead of the real answer)."""
        now = now or datetime.now(UTC)
        return (
            f"{_ENVELOPE}<responseDate>{now.strftime('%Y-%m-%dT%H:%M:%SZ')}</responseDate>"
            f'<request>{escape(self.base_url)}</request><error code="{code}">{escape(message)}</error>'
            "</OAI-PMH>"
        ).encode()

    def _encode(self, state: dict) -> str:
        raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        sig = hmac.new(_SECRET, body.encode(), hashlib.sha256).hexdigest()[:12]
        return f"{body}.{sig}"

    def _decode(self, token: str) -> dict:
        body, _, sig = token.partition(".")
        good = hmac.new(_SECRET, body.encode(), hashlib.sha256).hexdigest()[:12]
        if not sig or not hmac.compare_digest(sig, good):
            raise OAIProblem("badResumptionToken", "the resumptionToken is invalid or has expired")
        try:
            return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise OAIProblem("badResumptionToken", "the resumptionToken cannot be decoded") from None
