"""One OAI-PMH <record> → a canonical row (or a tombstone, or a quarantine entry), plus its raw XML."""
from __future__ import annotations

import os
import pickle
import struct
import sys
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Callable

from lxml import etree

from harvest.crosswalk import Crosswalk, Unmappable
from harvest.crosswalk.base import VALUE_FIELDS, as_mapped
from harvest.errors import PageError
from harvest.oai.page import OAI_NS, parse_page, record_bytes
from harvest.schema import declared
from harvest.validation import DESCRIPTIVE
from harvest.state import parse_utc

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
_DESCRIBED = slice(len(_ROW_HEAD), -len(_ROW_TAIL))   # where a crosswalk's values sit in a records row
if (RECORD_COLUMNS[:len(_ROW_HEAD)], RECORD_COLUMNS[_DESCRIBED], RECORD_COLUMNS[-len(_ROW_TAIL):]) \
        != (_ROW_HEAD, tuple(DESCRIPTIVE), _ROW_TAIL) or tuple(DESCRIPTIVE) != VALUE_FIELDS \
        or RAW_COLUMNS != (*_ROW_HEAD[:3], "metadata_prefix", "xml", *_ROW_TAIL[:2]):
    raise ImportError("schemas/records or raw.schema.json changed its column order: update harvest.records")
_descriptive = itemgetter(*DESCRIPTIVE)   # a crosswalk's dict → its values in column order
_EMPTY_DESCRIPTIVE = frozenset({"creators", "subjects", "identifiers", "related_identifiers"})


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
    for child in header:   # one pass; the first identifier and datestamp count, as with findtext
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
    except (ValueError, OverflowError):   # 0001-01-01T00:30:00+01:00 overflows when made UTC
        raise Unmappable("bad_header", f"datestamp {stamp!r} of {ident.strip()} is not a UTC datestamp") from None
    return ident.strip(), datestamp, header.get("status") == "deleted", sets


def map_record(record, crosswalk: Crosswalk, lin: Lineage, page_url: str | None,
               received: bytes | None = None) -> Outcome:
    """Map one <record>; never raises for bad content: unmappable records become quarantine rows.

    Every record whose header can be read also gets a raw row (quarantined ones included), so a
    later crosswalk can map it again without the network (`harvest retransform`). Its XML is
    `received` (the record's bytes in the page: harvest.oai.page.record_bytes) when given and
    holding the record's identifier, else lxml's serialisation of the element."""
    try:
        header, metadata = _parts(record) if record.tag == _RECORD else (record, None)
        oai_id, datestamp, deleted, sets = _read_header(header)
    except Unmappable as exc:
        return Outcome(None, None, quarantine_row(lin, page_url, None, exc.reason, exc.detail,
                                                  etree.tostring(record, encoding="utf-8")))
    xml = received if received is not None and oai_id.encode() in received else etree.tostring(record, encoding="utf-8")
    raw = (oai_id, datestamp, deleted, lin.metadata_prefix, xml, lin.run_id, lin.harvested_at)
    try:
        if deleted:   # a tombstone: every descriptive column null, lists empty
            described = tuple([] if name in _EMPTY_DESCRIPTIVE else None for name in DESCRIPTIVE)
        else:
            if metadata is None or len(metadata) == 0:
                raise Unmappable("missing_metadata", "a live record without <metadata>")
            if crosswalk.values is not None:   # the built-in crosswalks: finish's tuple as it is
                described = crosswalk.values(metadata)
                if described.__class__ is not tuple or len(described) != len(DESCRIPTIVE):
                    raise TypeError(f"crosswalk {crosswalk.name} (values=True) gave {type(described).__name__} "
                                    f"{described!r:.80}, not a tuple of the {len(DESCRIPTIVE)} descriptive fields")
            else:
                mapped = crosswalk.fn(metadata)
                try:
                    described = _descriptive(mapped)
                except KeyError:   # a crosswalk that leaves a field out: null there
                    described = tuple(map(mapped.get, DESCRIPTIVE))
        row = (oai_id, datestamp, deleted, sets, lin.metadata_prefix, *described, lin.run_id, lin.harvested_at,
               lin.crosswalk_version)
        return Outcome(row, raw, None, deleted)
    except Unmappable as exc:
        return Outcome(None, raw, quarantine_row(lin, page_url, oai_id, exc.reason, exc.detail, xml))
    except Exception as exc:  # a crosswalk bug must not lose the record: keep it with the trace
        return Outcome(None, raw, quarantine_row(lin, page_url, oai_id, "crosswalk_error",
                                                 f"{type(exc).__name__}: {exc}", xml))


def quarantine_row(lin: Lineage, page_url: str | None, oai_id: str | None, reason: str, detail: str,
                   raw_xml: bytes | None) -> dict:
    return {"run_id": lin.run_id, "page_url": page_url, "oai_identifier": oai_id, "reason": reason,
            "detail": detail, "raw_xml": raw_xml, "quarantined_at": lin.harvested_at}


# ---- one page, mapped into a sink: the same code in the harvesting process and in parse workers --
# (table, row): records and raw rows are tuples in their declared column order (RECORD_COLUMNS,
# RAW_COLUMNS), quarantine rows dicts; harvest.store's writers take either
AddRow = Callable[[str, tuple | dict], None]


@dataclass
class PageResult:
    """What became of one fetched page: its list bookkeeping and the rows it added to the sink."""

    url: str
    token: str | None = None
    complete_list_size: int | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)   # OAI-PMH <error>s, noRecordsMatch aside
    error: tuple[str, str] | None = None     # (reason, detail) of an unreadable page (quarantined)
    illegal_chars_removed: int = 0
    listed: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0


def map_items(items, crosswalk: Crosswalk, lin: Lineage, page_url: str | None, add: AddRow,
              result: PageResult, received: list[bytes] | None = None) -> None:
    """Map a page's <record>s into `add`, counting into `result`; `received`: their bytes in the
    page, in the same order (harvest.oai.page.record_bytes), when they could be cut out."""
    for record, xml in zip(items, received or [None] * len(items)):
        out = map_record(record, crosswalk, lin, page_url, xml)
        result.listed += 1
        if out.raw_values is not None:
            add("raw", out.raw_values)
        if out.values is not None:
            add("records", out.values)
            result.records += 1
            result.deleted += out.deleted
        if out.quarantine is not None:
            add("quarantine", out.quarantine)
            result.quarantined += 1


def map_page(content: bytes, url: str, source_id: str, crosswalk: Crosswalk, lin: Lineage,
             add: AddRow) -> PageResult:
    """Parse one ListRecords body and map its records. An unreadable page becomes one quarantine
    row (URL, reason, the bytes as received) and `error`; a page with an OAI-PMH <error> adds
    nothing and reports `errors` (noRecordsMatch is an empty, final page), as OAIClient.read does."""
    try:
        page = parse_page(content, url, source_id)
    except PageError as exc:
        add("quarantine", quarantine_row(lin, url, None, exc.reason, exc.detail, content))
        return PageResult(url, error=(exc.reason, exc.detail), quarantined=1)
    result = PageResult(url, token=page.token, complete_list_size=page.complete_list_size,
                        illegal_chars_removed=page.illegal_chars_removed)
    if page.errors:
        result.token = None
        if page.errors[0][0] != "noRecordsMatch":
            result.errors = list(page.errors)
        return result
    map_items(page.items, crosswalk, lin, url, add, result, record_bytes(page))
    return result


# ---- the parse worker process ----------------------------------------------------------------
_HEAD = struct.Struct("<QI")   # the pickle's length, how many out-of-band buffers follow it
_LEN = struct.Struct("<Q")


def write_frame(fh, obj) -> None:
    """One message: its pickle (protocol 5), then each pickle.PickleBuffer in it as raw bytes, so
    a page body (~1 MB) is written from its own memory, not copied into the pickle first."""
    buffers: list = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    head = _HEAD.pack(len(data), len(buffers)) + data
    for buf in buffers:
        head += _LEN.pack(buf.raw().nbytes)
    fh.write(head)
    for buf in buffers:
        fh.write(buf.raw())
    fh.flush()


def read_frame(fh):
    """The next message, or None at the end of the stream (or a message cut short by a dead peer).
    An out-of-band buffer comes back as the bytes read for it, in its place in the message."""
    head = fh.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    n, count = _HEAD.unpack(head)
    data = fh.read(n)
    sizes = fh.read(_LEN.size * count)
    if len(data) < n or len(sizes) < _LEN.size * count:
        return None
    buffers = []
    for (size,) in _LEN.iter_unpack(sizes):
        buf = fh.read(size)
        if len(buf) < size:
            return None
        buffers.append(buf)
    return pickle.loads(data, buffers=buffers)


class _NoNumpyOrPandas:
    """An import hook that makes pandas and numpy unavailable: pyarrow then builds arrays, writes
    Parquet and computes without them (both are optional to it), and a worker neither loads them
    (~0.1 CPU s, numpy's BLAS threads) nor holds them (~12 MB each worker)."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pandas", "numpy"):
            raise ImportError(f"{name} is not loaded in parse workers")
        return None


_TRIM_GROWTH = 1.10   # a worker's heap is trimmed once it is this much larger than after its first chunk


def _heap_keeper() -> Callable[[], None]:
    """The worker's heap under glibc (a no-op elsewhere), and what to call after each chunk.

    glibc's defaults cost a worker much kernel time: every page body (~1 MB) and large Arrow
    buffer was a fresh mmap, and the heap's free top went back to the system, so the next chunk
    touched new pages again (~190 k page faults and ~0.45 CPU s of a 100 k-record harvest; ~30 k
    and ~0.15 s with the settings below, 8-10 % of the whole harvest). Large blocks now come from
    the heap (up to 64 MB) and a free top is kept up to 128 MB, so a chunk reuses the last one's
    pages. Memory stays flat over a long harvest all the same: after a chunk the heap is trimmed
    (malloc_trim(0)) whenever resident memory exceeds its size after the first chunk by a tenth
    (_TRIM_GROWTH), as it does after a partner's unusually large records, and slowly as the heap
    fragments over a long harvest (by a quarter, a DataCite worker's peak at 1 M records was
    ~10 % above its peak at 100 k; by a tenth it is not, for ≤ 2 % more CPU). The trim after every
    chunk is what made a worker's memory flat before, at the price of those page faults."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        trim, mallopt = libc.malloc_trim, libc.mallopt
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3   # <malloc.h>
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 128 << 20)
    page = os.sysconf("SC_PAGE_SIZE")
    baseline: list[int] = []

    def resident() -> int:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * page

    def after_chunk() -> None:
        rss = resident()
        if not baseline:
            baseline.append(rss)
        elif rss > baseline[0] * _TRIM_GROWTH:
            trim(0)

    return after_chunk


def _fork_siblings() -> None:
    """Worker 0 forks the pool's other workers once its libraries are loaded (the pages they
    occupy are then shared, and loading them is not paid again). Each forked worker takes its own
    pipes (made by the harvester, listed in HARVEST_WORKER_SIBLINGS as "stdin fd:stdout fd") as
    its stdin and stdout, closes every other sibling's, and goes on as a worker of its own; worker
    0 closes them all. Forked workers are reaped by the system (SIGCHLD ignored) when they exit."""
    import signal
    import warnings

    siblings = [tuple(map(int, pair.split(":"))) for pair in os.environ.pop("HARVEST_WORKER_SIBLINGS", "").split(",")
                if pair]
    if not siblings:
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    mine = None
    for rfd, wfd in siblings:
        try:
            with warnings.catch_warnings():   # 3.12+ warns of forking with threads; this process runs none of its own
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError as exc:   # that worker's pipes are closed below: the harvester sees it exit
            print(f"parse worker: could not fork a sibling worker: {exc}", file=sys.stderr)
            continue
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            mine = (rfd, wfd)
            break
    if mine is not None:
        os.dup2(mine[0], 0)
        os.dup2(mine[1], 1)
    for rfd, wfd in siblings:
        os.close(rfd)
        os.close(wfd)


def worker_main() -> None:
    """A parse worker (started by harvest.pipeline.ParsePool): reads ("page", id, chunk key, spec,
    body, url), ("close", id, key), ("abort", id, key) and ("validate", id, None, data_dir,
    files, known fill counts) messages on stdin, in order; parses and maps each page into that
    chunk's ChunkPart and answers (id, ok, PageResult | sealed files | report) on stdout. Only counts and paths go back: rows never cross the process boundary. At the end of
    stdin (the harvester exited, even by SIGKILL) open parts are deleted."""
    import gc

    # pyarrow imports numpy with itself and pandas on its first pa.array() when it can (~60 MB per
    # process together, unused here)
    sys.meta_path.insert(0, _NoNumpyOrPandas())
    from harvest.crosswalk import get_crosswalk
    from harvest.store import ChunkPart
    # what every chunk needs, loaded now, while the harvester is still fetching the first pages
    # (imported on the first flush instead, it lengthened every small run's last commit)
    import pyarrow.compute  # noqa: F401  (the validation report)
    import pyarrow.parquet  # noqa: F401

    gc.freeze()     # the imported modules are never garbage: skip them
    gc.disable()    # row dicts and lists form no cycles: reference counts free them; the rare cycle
    collect = gc.collect   # (an exception's traceback) is collected after each chunk, below
    heap_kept = _heap_keeper()
    _fork_siblings()

    def trim() -> None:
        collect()
        heap_kept()   # the chunk's rows and Arrow buffers are freed: their pages serve the next one

    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                     # a stray print must not corrupt the answers
    write_frame(out, (0, True, os.getpid()))   # the first answer: ready, and the pid to stop it by
    parts: dict[str, ChunkPart] = {}
    crosswalks: dict[str, Crosswalk] = {}
    try:
        while True:
            msg = read_frame(inp)
            if msg is None:
                break
            kind, fid, key = msg[:3]
            try:
                if kind == "page":
                    spec, content, url = msg[3:]
                    part = parts.get(key)
                    if part is None:
                        part = parts[key] = ChunkPart(spec["data_dir"], spec["region"], spec["source_id"],
                                                      spec["name"])
                    cw = crosswalks.get(spec["crosswalk"])
                    if cw is None:
                        cw = crosswalks[spec["crosswalk"]] = get_crosswalk(spec["crosswalk"])
                    reply = map_page(content, url, spec["source_id"], cw, spec["lineage"], part.add)
                elif kind == "close":
                    part = parts.pop(key, None)
                    reply = part.seal() if part is not None else []
                    trim()
                elif kind == "validate":   # the run's validation report, over its files
                    from harvest.validation import validation_report

                    reply = validation_report(*msg[3:])
                    trim()
                else:   # abort
                    part = parts.pop(key, None)
                    if part is not None:
                        part.abort()
                    reply = None
                answer = (fid, True, reply)
            except Exception as exc:   # the harvester fails the run with this; it resumes later
                answer = (fid, False, f"{type(exc).__name__}: {exc}")
            write_frame(out, answer)
    finally:
        for part in parts.values():
            part.abort()
