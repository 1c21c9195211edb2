"""A second, independent OAI-PMH server (PyPI `oaipmh`'s own `Server`) on 127.0.0.1 over a small
made-up catalogue, so the harvester is checked against an implementation it was not written with.

Quirks of oaipmh 4.0.0's server that the tests rely on (they are the real behaviour, not ours):
- `datetime_to_datestamp` writes every header datestamp and earliestDatestamp to the second
  ('2021-03-01T00:00:00Z') even when Identify declares day granularity (spec 3.3.2 wants them
  in the declared granularity).
- a day-only `until` becomes 23:59:59 of that day and a day-only `from` 00:00:00 (correct,
  spec 3.3.1: both bounds inclusive); a seconds-form bound is accepted by a day-granularity
  repository instead of being refused with badArgument.
- `Resumption` pages by re-running the whole list and slicing it; the token carries only the
  original arguments and a cursor (no expirationDate, completeListSize or cursor attributes),
  and the last page has no <resumptionToken/> element at all instead of an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from oaipmh import common, error
from oaipmh.metadata import MetadataRegistry
from oaipmh.server import Server, oai_dc_writer

from tests.servers import LoopbackServer, QuietHandler

DAY, SECONDS = "YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ"
NON_LATIN_TITLE = "Квантовая запутанность · 量子纠缠 · κβαντική διεμπλοκή · التشابك الكمومي"
SETS = {"physics": "Physics", "history": "History", "data": "Datasets"}
# datestamps on the edges of the windows and ranges the tests ask for
EDGES = [
    datetime(2020, 12, 31, 23, 59, 59),
    datetime(2021, 1, 1, 0, 0, 0),
    datetime(2021, 2, 28, 23, 59, 59),
    datetime(2021, 3, 1, 0, 0, 0),
    datetime(2021, 6, 30, 0, 0, 0),
    datetime(2021, 6, 30, 12, 0, 0),
    datetime(2021, 6, 30, 23, 59, 59),
    datetime(2021, 7, 1, 0, 0, 0),
]


@dataclass
class Rec:
    """One record of the catalogue; datestamps are naive UTC, as oaipmh wants them."""

    identifier: str
    datestamp: datetime
    sets: list[str]
    deleted: bool = False
    dc: dict[str, list[str]] = field(default_factory=dict)

    @property
    def doi(self) -> str:
        """The normalised DOI the harvester should find (lower case, no resolver prefix)."""
        return f"10.1234/abc.{self.identifier.rsplit(':', 1)[1]}"


def catalogue(n: int = 57) -> list[Rec]:
    """n deterministic records over 2019-2023, with the EDGES datestamps, two deletions, sets."""
    stamps = EDGES + [datetime(2019, 1, 15, 9, 30) + timedelta(days=29 * i, hours=i) for i in range(n - len(EDGES))]
    recs = []
    for i, stamp in enumerate(stamps, start=1):
        num = f"{i:03d}"
        doi = f"https://doi.org/10.1234/ABC.{num}" if i % 2 else f"doi:10.1234/abc.{num}"
        title = NON_LATIN_TITLE if i == 13 else f"Interop record {num}"
        creators = ["山田, 太郎", "Müller, Jürgen"] if i == 13 else [f"Family{num}, Given", "Doe, Jane"]
        sets = [("physics", "history")[i % 2]] + (["data"] if i % 5 == 0 else [])
        recs.append(
            Rec(
                f"oai:interop.example:{num}",
                stamp,
                sets,
                deleted=i in (7, 41),
                dc={
                    "title": [title],
                    "creator": creators,
                    "identifier": [doi],
                    "date": [str(stamp.year)],
                    "type": ["Dataset" if i % 5 == 0 else "Text"],
                },
            )
        )
    return recs


class Backend:
    """The IOAI interface of oaipmh over a list of Rec (the Server pages it by re-running lists)."""

    def __init__(self, records: list[Rec], granularity: str, base_url: str = "http://127.0.0.1/oai"):
        self.records, self.granularity, self.base_url = list(records), granularity, base_url

    def identify(self):
        earliest = min(r.datestamp for r in self.records)
        return common.Identify(
            "interop",
            self.base_url,
            "2.0",
            ["admin@interop.example"],
            earliest,
            "persistent",
            self.granularity,
            ["identity"],
        )

    def listMetadataFormats(self, identifier=None):
        return [
            ("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/")
        ]

    def listSets(self):
        return [(spec, name, None) for spec, name in SETS.items()]

    def _select(self, metadataPrefix, set=None, from_=None, until=None):
        if metadataPrefix != "oai_dc":
            raise error.CannotDisseminateFormatError(metadataPrefix)
        return sorted(
            (
                r
                for r in self.records
                if (set is None or set in r.sets)
                and (from_ is None or r.datestamp >= from_)
                and (until is None or r.datestamp <= until)
            ),
            key=lambda r: (r.datestamp, r.identifier),
        )

    def _entry(self, r: Rec):
        header = common.Header(None, r.identifier, r.datestamp, r.sets, r.deleted)
        return header, (None if r.deleted else common.Metadata(None, r.dc)), None

    def listRecords(self, metadataPrefix, set=None, from_=None, until=None):
        return [self._entry(r) for r in self._select(metadataPrefix, set, from_, until)]

    def listIdentifiers(self, metadataPrefix, set=None, from_=None, until=None):
        return [self._entry(r)[0] for r in self._select(metadataPrefix, set, from_, until)]

    def getRecord(self, metadataPrefix, identifier):
        for r in self._select(metadataPrefix):
            if r.identifier == identifier:
                return self._entry(r)
        raise error.IdDoesNotExistError(identifier)

    def change(self, identifier: str, **changes) -> Rec:
        """Replace a record (e.g. new title or deleted=True), stamped now: an incremental harvest sees it."""
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        i = next(i for i, r in enumerate(self.records) if r.identifier == identifier)
        self.records[i] = replace(self.records[i], datestamp=now, **changes)
        return self.records[i]

    def add(self, rec: Rec) -> Rec:
        """Add a record stamped now."""
        rec = replace(rec, datestamp=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
        self.records.append(rec)
        return rec


class _Handler(QuietHandler):
    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        self.server.requests.append(self.path)
        try:
            status, body = 200, self.server.oai.handleRequest({k: v[0] for k, v in query.items()})
        except Exception as exc:  # oaipmh re-raises anything that is not an OAI error
            status, body = 500, f"{type(exc).__name__}: {exc}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class OAIPMHServer(LoopbackServer):
    """`oaipmh.server.Server` over a Backend, served by http.server on 127.0.0.1 (a free port)."""

    def __init__(self, backend: Backend, batch_size: int = 10):
        self.backend = backend
        super().__init__(_Handler, "/oai")
        backend.base_url = self.url
        registry = MetadataRegistry()
        registry.registerWriter("oai_dc", oai_dc_writer)
        self.httpd.oai = Server(backend, registry, resumption_batch_size=batch_size)
        self.httpd.requests = []

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests
