"""One OAI-PMH <record> → a canonical row (or a tombstone, or a quarantine entry), plus its raw XML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from lxml import etree

from harvest.config.schemas import declared
from harvest.crosswalk import Crosswalk, Unmappable
from harvest.crosswalk.base import VALUE_FIELDS, as_mapped
from harvest.oai.datestamps import EARLIEST, MAX_SKEW, parse_utc
from harvest.oai.page import OAI_NS

_Q = "{%s}" % OAI_NS
_ID, _STAMP, _SET = _Q + "identifier", _Q + "datestamp", _Q + "setSpec"
_RECORD, _HEADER, _METADATA = _Q + "record", _Q + "header", _Q + "metadata"


def _columns(table: str) -> tuple[str, ...]:
    decl = declared(table)
    return tuple(f["name"] for f in decl["fields"] if f["name"] not in decl.get("partition_by", ()))


# A record's rows are tuples in their table's declared column order (partition columns aside, they
# live in paths), as harvest.store.ColumnBuffer takes them: no dict per row to build and read back.
# map_record writes them in this order; a schema whose columns move must fail here, not misplace
# values.
RECORD_COLUMNS, RAW_COLUMNS = _columns("records"), _columns("raw")
_ROW_HEAD = ("oai_identifier", "datestamp", "deleted", "set_specs", "metadata_prefix")
_ROW_TAIL = ("run_id", "harvested_at", "crosswalk_version")
_DESCRIBED = slice(len(_ROW_HEAD), -len(_ROW_TAIL))  # where a crosswalk's values sit in a records row
if (RECORD_COLUMNS[: len(_ROW_HEAD)], RECORD_COLUMNS[_DESCRIBED], RECORD_COLUMNS[-len(_ROW_TAIL) :]) != (
    _ROW_HEAD,
    tuple(VALUE_FIELDS),
    _ROW_TAIL,
) or RAW_COLUMNS != (*_ROW_HEAD[:3], "metadata_prefix", "xml", *_ROW_TAIL[:2]):
    raise ImportError("schemas/records or raw.schema.json changed its column order: update harvest.records.rows")
_descriptive = itemgetter(*VALUE_FIELDS)  # a crosswalk's dict → its values in column order
_EMPTY_VALUE_FIELDS = frozenset({"creators", "subjects", "identifiers", "related_identifiers"})


@dataclass
class Lineage:
    source_id: str
    region: str
    metadata_prefix: str
    run_id: str
    harvested_at: datetime
    crosswalk_version: str


@dataclass(slots=True)
class Outcome:
    """What became of one record: its `records` row (None if quarantined) and `raw` row as tuples
    in RECORD_COLUMNS and RAW_COLUMNS order, and its quarantine row (a dict)."""

    values: tuple | None
    raw_values: tuple | None
    quarantine: dict | None
    deleted: bool = False

    @property
    def row(self) -> dict | None:
        """The records row as a dict (column → value, struct entries as dicts)."""
        if self.values is None:
            return None
        row = dict(zip(RECORD_COLUMNS, self.values))
        row.update(as_mapped(self.values[_DESCRIBED]))
        return row

    @property
    def raw(self) -> dict | None:
        """The raw row as a dict (column → value)."""
        return dict(zip(RAW_COLUMNS, self.raw_values)) if self.raw_values is not None else None


def read_header(record) -> tuple[str, datetime, bool, list[str]]:
    """identifier, datestamp, deleted, setSpecs of a <record>'s <header>; raises Unmappable if unusable."""
    return _read_header(record.find(_HEADER) if record.tag == _RECORD else record)


def _parts(record) -> tuple[object, object]:
    """A <record>'s first <header> and first <metadata> child, in one pass (ElementPath's find
    costs more than the walk over a record's two or three children)."""
    header = metadata = None
    for child in record:
        tag = child.tag
        if tag == _HEADER:
            if header is None:
                header = child
        elif tag == _METADATA:
            if metadata is None:
                metadata = child
    return header, metadata


def _read_header(header) -> tuple[str, datetime, bool, list[str]]:
    if header is None:
        raise Unmappable("bad_header", "record without <header>")
    ident = stamp = None
    sets = []
    for child in header:  # one pass; the first identifier and datestamp count, as with findtext
        tag = child.tag
        if tag == _ID:
            if ident is None:
                ident = child.text or ""
        elif tag == _STAMP:
            if stamp is None:
                stamp = child.text or ""
        elif tag == _SET:
            s = child.text
            if s and s.strip():
                sets.append(s.strip())
    if not ident or not ident.strip():
        raise Unmappable("bad_header", "header without identifier")
    try:
        datestamp = parse_utc(stamp or "")
    except (ValueError, OverflowError):  # 0001-01-01T00:30:00+01:00 overflows when made UTC
        raise Unmappable("bad_header", f"datestamp {stamp!r} of {ident.strip()} is not a UTC datestamp") from None
    return ident.strip(), datestamp, header.get("status") == "deleted", sets


def map_record(
    record, crosswalk: Crosswalk, lin: Lineage, page_url: str | None, received: bytes | None = None
) -> Outcome:
    """Map one <record>; never raises for bad content: unmappable records become quarantine rows.

    Every record whose header can be read also gets a raw row (quarantined ones included), so a
    later crosswalk can map it again without the network (`harvest retransform`). Its XML is
    `received` (the record's bytes in the page: harvest.oai.page.record_bytes) when given and
    holding the record's identifier, else lxml's serialisation of the element."""
    try:
        header, metadata = _parts(record) if record.tag == _RECORD else (record, None)
        oai_id, datestamp, deleted, sets = _read_header(header)
    except Unmappable as exc:
        return Outcome(
            None,
            None,
            quarantine_row(lin, page_url, None, exc.reason, exc.detail, etree.tostring(record, encoding="utf-8")),
        )
    xml = received if received is not None and oai_id.encode() in received else etree.tostring(record, encoding="utf-8")
    if not EARLIEST <= datestamp <= lin.harvested_at + MAX_SKEW:  # it would outrank every correction
        when = "before 1900" if datestamp < EARLIEST else f"later than the harvest by more than {MAX_SKEW}"
        detail = f"datestamp {datestamp:%Y-%m-%dT%H:%M:%SZ} of {oai_id} is {when}"
        return Outcome(None, None, quarantine_row(lin, page_url, oai_id, "untrusted_datestamp", detail, xml))
    raw = (oai_id, datestamp, deleted, lin.metadata_prefix, xml, lin.run_id, lin.harvested_at)
    try:
        if deleted:  # a tombstone: every descriptive column null, lists empty
            described = tuple([] if name in _EMPTY_VALUE_FIELDS else None for name in VALUE_FIELDS)
        else:
            if metadata is None or len(metadata) == 0:
                raise Unmappable("missing_metadata", "a live record without <metadata>")
            if crosswalk.values is not None:  # the built-in crosswalks: finish's tuple as it is
                described = crosswalk.values(metadata)
                if described.__class__ is not tuple or len(described) != len(VALUE_FIELDS):
                    raise TypeError(
                        f"crosswalk {crosswalk.name} (values=True) gave {type(described).__name__} "
                        f"{described!r:.80}, not a tuple of the {len(VALUE_FIELDS)} descriptive fields"
                    )
            else:
                mapped = crosswalk.fn(metadata)
                try:
                    described = _descriptive(mapped)
                except KeyError:  # a crosswalk that leaves a field out: null there
                    described = tuple(map(mapped.get, VALUE_FIELDS))
        row = (
            oai_id,
            datestamp,
            deleted,
            sets,
            lin.metadata_prefix,
            *described,
            lin.run_id,
            lin.harvested_at,
            lin.crosswalk_version,
        )
        return Outcome(row, raw, None, deleted)
    except Unmappable as exc:
        return Outcome(None, raw, quarantine_row(lin, page_url, oai_id, exc.reason, exc.detail, xml))
    except Exception as exc:  # a crosswalk bug must not lose the record: keep it with the trace
        return Outcome(
            None, raw, quarantine_row(lin, page_url, oai_id, "crosswalk_error", f"{type(exc).__name__}: {exc}", xml)
        )


def quarantine_row(
    lin: Lineage, page_url: str | None, oai_id: str | None, reason: str, detail: str, raw_xml: bytes | None
) -> dict:
    return {
        "run_id": lin.run_id,
        "page_url": page_url,
        "oai_identifier": oai_id,
        "reason": reason,
        "detail": detail,
        "raw_xml": raw_xml,
        "quarantined_at": lin.harvested_at,
    }
