"""One OAI-PMH <record> → a canonical row (or a tombstone, or a quarantine entry), plus its raw XML."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from harvest.crosswalk import Crosswalk, Unmappable
from harvest.oai.page import OAI_NS
from harvest.state import parse_utc

_Q = "{%s}" % OAI_NS
_EMPTY_DESCRIPTIVE = {"creators": [], "subjects": [], "identifiers": [], "related_identifiers": []}


@dataclass
class Lineage:
    source_id: str
    region: str
    metadata_prefix: str
    run_id: str
    harvested_at: datetime
    crosswalk_version: str


@dataclass
class Outcome:
    """What became of one record: a row for `records` (None if quarantined), raw and quarantine rows."""

    row: dict | None
    raw: dict | None
    quarantine: dict | None
    deleted: bool = False


def read_header(record) -> tuple[str, datetime, bool, list[str]]:
    """identifier, datestamp, deleted, setSpecs of a <record>'s <header>; raises Unmappable if unusable."""
    header = record.find(_Q + "header") if record.tag == _Q + "record" else record
    if header is None:
        raise Unmappable("bad_header", "record without <header>")
    ident = header.findtext(_Q + "identifier")
    stamp = header.findtext(_Q + "datestamp")
    if not ident or not ident.strip():
        raise Unmappable("bad_header", "header without identifier")
    try:
        datestamp = parse_utc(stamp or "")
    except (ValueError, OverflowError):   # 0001-01-01T00:30:00+01:00 overflows when made UTC
        raise Unmappable("bad_header", f"datestamp {stamp!r} of {ident.strip()} is not a UTC datestamp") from None
    sets = [s.text.strip() for s in header.iterfind(_Q + "setSpec") if s.text and s.text.strip()]
    return ident.strip(), datestamp, header.get("status") == "deleted", sets


def map_record(record, crosswalk: Crosswalk, lin: Lineage, page_url: str | None) -> Outcome:
    """Map one <record>; never raises for bad content: unmappable records become quarantine rows.

    Every record whose header can be read also gets a raw row (quarantined ones included), so a
    later crosswalk can map it again without the network (`harvest retransform`)."""
    xml = etree.tostring(record, encoding="utf-8")
    try:
        oai_id, datestamp, deleted, sets = read_header(record)
    except Unmappable as exc:
        return Outcome(None, None, quarantine_row(lin, page_url, None, exc.reason, exc.detail, xml))
    base = {"oai_identifier": oai_id, "datestamp": datestamp, "deleted": deleted,
            "metadata_prefix": lin.metadata_prefix, "run_id": lin.run_id, "harvested_at": lin.harvested_at}
    raw = {**base, "xml": xml}
    try:
        if deleted:
            return Outcome({**base, **_EMPTY_DESCRIPTIVE, "set_specs": sets,
                            "crosswalk_version": lin.crosswalk_version}, raw, None, deleted=True)
        metadata = record.find(_Q + "metadata")
        if metadata is None or len(metadata) == 0:
            raise Unmappable("missing_metadata", "a live record without <metadata>")
        fields = crosswalk.fn(metadata)
        return Outcome({**base, **fields, "set_specs": sets, "crosswalk_version": lin.crosswalk_version}, raw, None)
    except Unmappable as exc:
        return Outcome(None, raw, quarantine_row(lin, page_url, oai_id, exc.reason, exc.detail, xml))
    except Exception as exc:  # a crosswalk bug must not lose the record: keep it with the trace
        return Outcome(None, raw, quarantine_row(lin, page_url, oai_id, "crosswalk_error",
                                                 f"{type(exc).__name__}: {exc}", xml))


def quarantine_row(lin: Lineage, page_url: str | None, oai_id: str | None, reason: str, detail: str,
                   raw_xml: bytes | None) -> dict:
    return {"run_id": lin.run_id, "page_url": page_url, "oai_identifier": oai_id, "reason": reason,
            "detail": detail, "raw_xml": raw_xml, "quarantined_at": lin.harvested_at}
