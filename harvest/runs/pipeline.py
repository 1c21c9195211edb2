"""Harvest one source: Identify → date windows → ListRecords pages → crosswalk → Parquet chunks,
with a durable checkpoint after every committed chunk and a run report at the end.

A run ends `complete` (watermark advanced), `partial` (some pages or windows could not be read:
they are quarantined with URL and reason; the watermark stays so the next run covers them again)
or `failed` (the error names source, URL and reason; the checkpoint stays, and the next run
resumes from it: finished windows are not fetched again, the open window continues from its last
committed resumptionToken). A run never stops silently half-way, and a run killed at any moment
(even SIGKILL) resumes with every record exactly once.
"""
from __future__ import annotations

import atexit
import os
import pickle
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from harvest.clock import REAL, Clock
from harvest.config.sources import Source
from harvest.crosswalk import get_crosswalk
from harvest.errors import HarvestError, OAIError, PageError, ProtocolError
from harvest.oai import OAIClient, list_pages
from harvest.oai.page import record_bytes, salvage_token, tail_token
from harvest.records.rows import Lineage, quarantine_row
from harvest.records.pages import PageResult, map_items
from harvest.records.worker import read_frame, write_frame
from harvest.store.state import SourceState, load_state, save_state, write_json_atomic
from harvest.oai.datestamps import parse_utc
from harvest.store.writers import ChunkWriter
from harvest.store.datasets import committed_files, run_files
from harvest.oai.windows import Window, plan, split

MAX_WINDOW_ATTEMPTS = 3
COUNTERS = ("pages", "records", "deleted", "quarantined", "listed")
MAX_PAGES = 10_000_000
IN_FLIGHT = 8          # pages of one harvest fetched but not yet mapped: memory stays flat


# ---- parse workers: processes that parse, crosswalk and write Parquet --------------------------
def default_parse_workers() -> int:
    """HARVEST_PARSE_WORKERS, else one per core up to 2 (the harvesting process only fetches);
    0 parses in the harvesting process itself."""
    value = os.environ.get("HARVEST_PARSE_WORKERS")
    if value not in (None, ""):
        return max(0, int(value))
    return min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


def fork_workers() -> bool:
    """Whether worker 0 forks the other parse workers (HARVEST_FORK_WORKERS=0: each worker is
    started as its own interpreter, as on systems without fork)."""
    return hasattr(os, "fork") and os.environ.get("HARVEST_FORK_WORKERS", "1") != "0"


# A parse worker that gives no answer for this long is taken for hung (a page normally takes well
# under a second): it is killed, and whatever waited on it fails as a crashed worker's work does (the
# run fails with the reason and resumes from its checkpoint).
WORKER_TIMEOUT_S = float(os.environ.get("HARVEST_PARSE_TIMEOUT", "600"))


def _answer(fut: Future):
    """A parse worker's answer, or HarvestError once the worker is dead or has hung."""
    try:
        return fut.result(timeout=WORKER_TIMEOUT_S)
    except FutureTimeout:
        worker = getattr(fut, "worker", None)
        if worker is None:
            raise
        worker.kill(f"parse worker {worker.index} gave no answer in {WORKER_TIMEOUT_S:g} s (hung); it was stopped")
        return fut.result()


class _Worker:
    """One parse worker process (harvest.records.worker_main) and the two threads that talk to it.

    Worker 0 is started as a new interpreter (`proc`); the others are forked by worker 0 once it
    has loaded its libraries (a fork costs milliseconds and shares those pages, where a second
    interpreter would load them again: ~0.25 CPU s and tens of MB each). A forked worker talks
    over pipes this process made (`fds`: its stdin's write end, its stdout's read end) and is not
    this process's child: its pid comes in its first answer, and it is stopped by pid."""

    def __init__(self, index: int, proc: subprocess.Popen | None = None, fds: tuple[int, int] | None = None):
        self.index = index
        self.proc = proc
        if proc is not None:
            self.stdin, self.stdout, self.pid = proc.stdin, proc.stdout, proc.pid
        else:
            self.stdin, self.stdout, self.pid = os.fdopen(fds[0], "wb"), os.fdopen(fds[1], "rb"), None
        self.ready = threading.Event()   # the first answer (the worker's pid) has come
        self.pending: dict[int, Future] = {}
        self.lock = threading.Lock()
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.dead: str | None = None
        threading.Thread(target=self._feed, name=f"parse-worker-{index}-feed", daemon=True).start()
        self._reader = threading.Thread(target=self._read, name=f"parse-worker-{index}-read", daemon=True)
        self._reader.start()

    @property
    def load(self) -> int:
        return len(self.pending)

    def submit(self, fid: int, msg: tuple) -> Future:
        fut: Future = Future()
        fut.worker = self   # for _answer: the worker to stop if it never answers
        with self.lock:
            if self.dead:
                fut.set_exception(HarvestError(self.dead))
                return fut
            self.pending[fid] = fut
        self.outbox.put(msg)
        return fut

    def _feed(self) -> None:
        try:
            while True:
                msg = self.outbox.get()
                if msg is None:
                    break
                write_frame(self.stdin, msg)
        except (OSError, ValueError) as exc:
            self._die(f"parse worker {self.index} stopped reading: {exc}")
        finally:
            try:
                self.stdin.close()
            except OSError:
                pass

    def _read(self) -> None:
        try:
            while True:
                answer = read_frame(self.stdout)
                if answer is None:
                    break
                fid, ok, payload = answer
                if fid == 0:   # the worker's first answer: its pid
                    self.pid = payload
                    self.ready.set()
                    continue
                with self.lock:
                    fut = self.pending.pop(fid, None)
                if fut is not None:
                    if ok:
                        fut.set_result(payload)
                    else:
                        fut.set_exception(HarvestError(f"parse worker {self.index}: {payload}"))
        except Exception as exc:   # noqa: BLE001 - any failure here ends the worker
            self._die(f"parse worker {self.index} failed: {exc}")
        self.ready.set()
        status = self.proc.poll() if self.proc is not None else "unknown: a forked worker"
        self._die(f"parse worker {self.index} exited (status {status})")

    def _die(self, reason: str) -> None:
        with self.lock:
            self.dead = self.dead or reason
            pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(HarvestError(reason))

    def _signal(self, sig: int) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
            return
        self.ready.wait(5)
        if self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self, reason: str) -> None:
        """Stop a worker that no longer answers: what it owed fails with `reason`."""
        self._die(reason)
        self._signal(signal.SIGKILL)

    def close(self) -> None:
        """End the worker's input; it exits when it has answered everything (killed after 10 s)."""
        self.outbox.put(None)
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:   # not our child: its output ends when it exits
            self._reader.join(10)
            if self._reader.is_alive():
                self._signal(signal.SIGKILL)
                self._reader.join(5)
        self.stdout.close()


def _widen_pipe(fd: int) -> None:
    """A worker's input pipe as large as the system lets a user make it (Linux: 1 MB, against
    64 kB): a page crosses in one or two writes instead of sixteen, each waking the other side."""
    try:
        import fcntl

        with open("/proc/sys/fs/pipe-max-size") as fh:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, int(fh.read()))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


class ParsePool:
    """Parse workers shared by every harvest of this process (several sources harvested in
    threads spread their CPU work over all of them). A page goes to the least busy worker; each
    worker writes its own part of a chunk and answers with counts and file paths only."""

    def __init__(self, n: int):
        self.pid = os.getpid()
        if fork_workers():
            self.workers = self._start(n)
        else:   # every worker its own interpreter
            self.workers = [w for i in range(n) for w in self._start(1, i)]
        self._ids = iter(range(1, 1 << 62))
        self._lock = threading.Lock()

    @staticmethod
    def _start(n: int, index: int = 0) -> list["_Worker"]:
        """A worker started as a new interpreter, and the n - 1 it forks."""
        root = str(Path(__file__).resolve().parents[2])
        # pipes of the workers it forks: (their stdin, their stdout), both ends
        pipes = [(os.pipe(), os.pipe()) for _ in range(n - 1)]
        env = {"ARROW_DEFAULT_MEMORY_POOL": "system",   # gives freed buffers back: ~25 MB less per worker
               **os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
               "HARVEST_WORKER_SIBLINGS": ",".join(f"{i[0]}:{o[1]}" for i, o in pipes)}
        child_ends = [fd for i, o in pipes for fd in (i[0], o[1])]
        try:
            proc = subprocess.Popen([sys.executable, "-c", "from harvest.records.worker import worker_main; worker_main()"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, pass_fds=child_ends)
        except BaseException:
            for i, o in pipes:
                os.close(i[1])
                os.close(o[0])
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        for fd in (proc.stdin.fileno(), *(i[1] for i, _ in pipes)):
            _widen_pipe(fd)
        return [_Worker(index, proc=proc), *(_Worker(index + k + 1, fds=(i[1], o[0])) for k, (i, o) in enumerate(pipes))]

    def pick(self) -> "_Worker":
        """The least busy live worker."""
        alive = [w for w in self.workers if not w.dead] or self.workers
        return min(alive, key=lambda w: w.load)

    def submit(self, msg: tuple, worker: "_Worker | None" = None) -> tuple["_Worker", Future]:
        with self._lock:
            fid = next(self._ids)
        worker = worker or self.pick()
        return worker, worker.submit(fid, (msg[0], fid, *msg[1:]))

    def close(self) -> None:
        for w in self.workers:
            w.outbox.put(None)   # every worker's input ends at once; then each is waited for
        for w in self.workers:
            w.close()


_POOL: ParsePool | None = None
_POOL_LOCK = threading.Lock()


def parse_pool() -> ParsePool:
    """The process's parse workers, started on first use and stopped at exit."""
    global _POOL
    with _POOL_LOCK:
        # a forked child inherits the pool object but not its threads: it starts its own
        if _POOL is None or _POOL.pid != os.getpid() or all(w.dead for w in _POOL.workers):
            _POOL = ParsePool(max(1, default_parse_workers()))
            atexit.register(_POOL.close)
        return _POOL


@dataclass
class _Chunk:
    """A chunk being written by parse workers: which workers hold a part of it, and their seals."""

    seq: int
    parts: dict = field(default_factory=dict)      # worker index → worker
    est_rows: int = 0
    closed: bool = False
    sealed: list = field(default_factory=list)     # futures of the workers' (tmp, final) lists


@dataclass
class _InFlight:
    """A fetched page on its way through a parse worker."""

    url: str
    sent: str | None            # the token it was requested with
    guess: str | None           # its token as guessed from its last bytes (the next request used it)
    chunk: _Chunk
    future: Future
    content: bytes | None       # kept for salvage_token when the page turns out unreadable
    closes: bool = False        # the chunk ends with this page


class _Rewind(Exception):
    """A guessed token proved wrong: every page after the last checkpoint is fetched again."""


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


@dataclass
class Unit:
    """One (set, window) list request: the unit of checkpointing, retry and re-slicing."""

    set_spec: str | None
    from_: str | None
    until: str | None
    status: str = "pending"            # pending | active | done | failed
    token: str | None = None           # resumptionToken after the last committed page
    chunks: list[str] = field(default_factory=list)
    attempts: int = 0
    complete_list_size: int | None = None
    pages: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0
    listed: int = 0                    # records listed by the server (mapped or quarantined)
    error: str | None = None


@dataclass
class RunReport:
    source_id: str
    region: str
    run_id: str
    status: str = "running"            # complete | partial | failed
    resumed: bool = False
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    pages: int = 0
    records: int = 0                   # rows written to the records table (incl. tombstones)
    deleted: int = 0
    quarantined: int = 0
    census_tombstones: int = 0
    requests: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    illegal_chars_removed: int = 0
    granularity: str | None = None
    deleted_record_policy: str | None = None
    watermark_before: str | None = None
    watermark_after: str | None = None
    windows: list[dict] = field(default_factory=list)
    validation: dict = field(default_factory=dict)   # fill rates and quarantine reasons (harvest.validation)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[RunReport, float], None]  # (report so far, seconds since the run began)


class Harvest:
    """The state of one run of one source; `run()` drives it to an end."""

    def __init__(self, source: Source, data_dir: Path, *, progress: Progress | None = None,
                 clock: Clock = REAL, chunk_rows: int = 10_000, credentials=None,
                 state_id: str | None = None, run_id: str | None = None, reports_dir: Path | None = None,
                 parse_workers: int | None = None):
        """`state_id`, `run_id` and `reports_dir` let an orchestrator run one window of a planned run
        as its own resumable harvest (harvest.planned): its checkpoint and report then live apart
        from the source's, and its files carry the planned run's id. `parse_workers`: processes
        that parse, map and write (0: all in this process; default: HARVEST_PARSE_WORKERS or 2)."""
        self.source, self.data_dir = source, Path(data_dir)
        self.parse_workers = default_parse_workers() if parse_workers is None else parse_workers
        self.pool: ParsePool | None = None
        self._chunks: deque[_Chunk] = deque()       # chunks in parse workers, not yet committed
        self._inflight: deque[_InFlight] = deque()
        self._settled_bytes = self._settled_rows = 0   # of mapped pages: the rows a page's bytes give
        self._fills: dict[str, dict] = {}   # records files sealed by workers: their fill counts
        self.progress, self.clock, self.chunk_rows = progress, clock, chunk_rows
        self.t0 = time.monotonic()
        self.state: SourceState = load_state(self.data_dir, state_id or source.id)
        self.fixed_run_id = run_id
        self.reports_dir = Path(reports_dir) if reports_dir else self.data_dir / "runs" / source.id
        self.crosswalk = get_crosswalk(source.crosswalk_name)
        self.client = OAIClient(source.resolved_endpoint(), source.id, source.politeness, clock=clock,
                                credentials=credentials or source.env_credentials())
        self.units: list[Unit] = []
        self.pending = dict.fromkeys(COUNTERS, 0)
        self.ctx: dict = {}
        self.report: RunReport
        self.writer: ChunkWriter
        self.lineage: Lineage

    def execute(self, *, full: bool = False, from_: str | None = None, until: str | None = None,
                restart: bool = False, identified: dict | None = None) -> RunReport:
        """start → run → finish, and the report; the client's connections are closed at the end.
        `identified`: Identify's answers when the caller already has them (a planned run's window)."""
        if self.parse_workers and self.pool is None:
            self.pool = parse_pool()   # the workers load their libraries while Identify is asked
        with self.client:
            try:
                self.start(full=full, from_=from_, until=until, restart=restart, identified=identified)
            except HarvestError as exc:   # not even a plan (e.g. Identify failed): nothing to resume
                return self.unplanned(exc)
            try:
                self.run()
            except HarvestError as exc:
                return self.finish(exc)
            return self.finish(None)

    # ---- set-up: a new plan, or the checkpoint of an interrupted run ----------------------------
    def start(self, *, full: bool, from_: str | None, until: str | None, restart: bool,
              identified: dict | None = None) -> None:
        cp = self.state.in_progress
        if cp and not (full or from_ or until or restart) and cp.get("metadata_prefix") == self.source.metadata_prefix:
            self._resume(cp)
        else:
            self._plan(full=full, from_=from_, until=until, identified=identified)
        self.lineage = Lineage(self.source.id, self.source.region, self.source.metadata_prefix,
                               self.report.run_id, datetime.now(timezone.utc), self.crosswalk.version)
        self.writer = ChunkWriter(self.data_dir, self.source.region, self.source.id, self.report.run_id,
                                  seq=self.ctx.get("next_chunk", 0))
        self._drop_uncheckpointed_chunks()
        self._checkpoint()

    def _plan(self, *, full: bool, from_: str | None, until: str | None, identified: dict | None = None) -> None:
        info = identified if identified is not None else self.client.identify()
        g = info.get("granularity") or "YYYY-MM-DD"
        now = info.get("responseDate")
        start = from_ if (from_ or full) else self.state.next_from(g)
        start = start or info.get("earliestDatestamp")
        end = until or now
        windows = plan(_utc(start), _utc(end, end_of_day=True), self.source.window, g)
        if windows and not from_ and (full or not self.state.watermark):
            # a first or full harvest also takes records stamped before earliestDatestamp
            windows[0] = Window(None, windows[0].end)
        self.units = [Unit(s, *w.params(g).values()) for s in (self.source.sets or (None,)) for w in windows]
        self.report = RunReport(self.source.id, self.source.region, self.fixed_run_id or new_run_id(),
                                started_at=datetime.now(timezone.utc).isoformat())
        self.report.watermark_before = self.state.watermark
        self.report.watermark_after = now
        self.report.granularity = g
        self.report.deleted_record_policy = info.get("deletedRecord")
        self.ctx = {"run_id": self.report.run_id, "metadata_prefix": self.source.metadata_prefix,
                    "full": full, "ranged": bool(from_ or until), "granularity": g,
                    "watermark_after": now, "deleted_record": info.get("deletedRecord"),
                    "earliest_datestamp": info.get("earliestDatestamp"),
                    "started_at": self.report.started_at, "transfer": {}, "next_chunk": 0}

    def _resume(self, cp: dict) -> None:
        self.ctx = dict(cp)
        self.units = [Unit(**u) for u in cp["units"]]
        self.report = RunReport(self.source.id, self.source.region, cp["run_id"], resumed=True,
                                started_at=cp["started_at"], granularity=cp["granularity"],
                                deleted_record_policy=cp.get("deleted_record"),
                                watermark_before=self.state.watermark, watermark_after=cp["watermark_after"],
                                errors=list(cp.get("errors", [])), warnings=list(cp.get("warnings", [])))
        for u in self.units:
            if u.status == "active" and u.token is None:   # no token to continue from: start it over
                for rel in u.chunks:
                    (self.data_dir / rel).unlink(missing_ok=True)
                u.chunks, u.status = [], "pending"
                for k in COUNTERS:
                    setattr(u, k, 0)

    def _drop_uncheckpointed_chunks(self) -> None:
        """Files renamed into place after the last checkpoint was written belong to pages that the
        resumed run fetches again: remove them so every record is written exactly once."""
        known = {c for u in self.units for c in u.chunks}
        for path in run_files(self.data_dir, self.source.id, self.report.run_id, include_temporary=True):
            if str(path.relative_to(self.data_dir)) not in known:
                path.unlink()

    def _checkpoint(self) -> None:
        self.ctx["units"] = [asdict(u) for u in self.units]
        self.ctx["next_chunk"] = self.writer.seq
        self.ctx["errors"], self.ctx["warnings"] = self.report.errors, self.report.warnings
        self.state.in_progress = self.ctx
        save_state(self.data_dir, self.state)

    # ---- harvesting ------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            unit = next((u for u in self.units if u.status in ("pending", "active")), None)
            if unit is None:
                break
            self._harvest_unit(unit)
        if all(u.status == "done" for u in self.units) and self._census_wanted():
            self._census()

    def _harvest_unit(self, unit: Unit) -> None:
        unit.status = "active"
        guess = True
        while True:
            params = ({"resumptionToken": unit.token} if unit.token else
                      {"metadataPrefix": self.source.metadata_prefix, "set": unit.set_spec,
                       "from": unit.from_, "until": unit.until})
            try:
                if self.parse_workers:
                    self._list_in_workers(unit, params, guess)
                else:
                    self._list_inline(unit, params)
            except _Rewind:   # a guessed token was wrong: redo from the checkpoint, without guessing
                self._abort_inflight()
                self.writer.abort()
                self.pending = dict.fromkeys(COUNTERS, 0)
                guess = False
                continue
            except OAIError as exc:
                if exc.code != "badResumptionToken":
                    raise
                self._reslice(unit, exc)
                return
            except ProtocolError as exc:
                self._fail_unit(unit, str(exc))
                return
            except PageError as exc:   # unreadable and no token to step over it: the window ends here
                if not getattr(exc, "quarantined", False):
                    self.writer.add("quarantine", quarantine_row(self.lineage, exc.url, None, exc.reason, exc.detail,
                                                                 exc.content))
                self.pending["quarantined"] += 1
                self._fail_unit(unit, str(exc))
                return
            break
        self._commit(unit, token=None, status="done")   # chunks and "done" in one checkpoint
        if unit.complete_list_size and unit.listed < unit.complete_list_size:
            self.report.warnings.append(
                f"window {_label(unit)}: completeListSize {unit.complete_list_size} but {unit.listed} listed")

    # -- single process: pages parsed here, the next one fetched meanwhile by a thread --
    def _list_inline(self, unit: Unit, params: dict) -> None:
        for page in list_pages(self.client, "ListRecords", params, max_pages=MAX_PAGES):
            self._consume(unit, page)
            if page.token and self.writer.pending_rows >= self.chunk_rows:
                self._commit(unit, token=page.token)

    def _consume(self, unit: Unit, page) -> None:
        p = self.pending
        p["pages"] += 1
        if page.error is not None:
            exc = page.error
            self.writer.add("quarantine", quarantine_row(self.lineage, exc.url, None, exc.reason, exc.detail,
                                                         exc.content))
            p["quarantined"] += 1
            self.report.errors.append(f"{exc} (page quarantined; list continued with its token)")
        unit.complete_list_size = page.complete_list_size or unit.complete_list_size
        result = PageResult(page.url)
        map_items(page.items, self.crosswalk, self.lineage, page.url, self.writer.add, result, record_bytes(page))
        for k in ("listed", "records", "deleted", "quarantined"):
            p[k] += getattr(result, k)
        if self.progress:
            self.progress(self._totals(), time.monotonic() - self.t0)

    # -- parse workers: this process fetches; workers parse, map and write their chunk parts --
    def _list_in_workers(self, unit: Unit, params: dict, guess_tokens: bool) -> None:
        """Fetch pages and hand them to the parse workers; the next request goes out as soon as the
        page's token is guessed from its last bytes (tail_token), up to IN_FLIGHT pages ahead. Pages
        are settled in order with their parsed token: a wrong guess rewinds to the checkpoint
        (_Rewind). Without a guess (the last page, an unreadable one) the parse is awaited."""
        if self.pool is None:
            self.pool = parse_pool()
        q, nxt, count = self._inflight, params, 0
        while True:
            while nxt is not None and len(q) < IN_FLIGHT:
                count += 1
                sent = nxt.get("resumptionToken")
                try:
                    url, content, status = self.client.fetch("ListRecords", **nxt)
                    if status >= 400:   # read here like OAIClient.request: an OAI error, or an empty final page
                        self.client.read(url, content, status)
                        status = None
                except HarvestError as exc:   # raised in list order, once the pages before it are settled
                    url, status = "", exc
                nxt = None
                if status is None or isinstance(status, HarvestError):
                    done: Future = Future()
                    done.set_exception(status) if status else done.set_result(PageResult(url))
                    q.append(_InFlight(url, sent, None, self._open_chunk(), done, None))
                    continue
                chunk = self._open_chunk()
                entry = _InFlight(url, sent, None, chunk, self._send_page(chunk, url, content), content)
                chunk.est_rows += self._rows_in(content)
                guess = tail_token(content) if guess_tokens else None
                if guess is not None and guess != sent and count < MAX_PAGES:
                    entry.guess, nxt = guess, {"resumptionToken": guess}
                    if chunk.est_rows >= self.chunk_rows:
                        self._close_chunk(chunk)
                        entry.closes = True
                elif guess_tokens and guess is None:
                    # by its last bytes the list's final page: its chunk is sealed while the page is
                    # parsed, not after (should a token turn up, the next pages start a new chunk)
                    self._close_chunk(chunk)
                q.append(entry)
            e = q.popleft()
            token = self._settle(unit, e)
            if e.guess is not None:
                if token != e.guess:
                    raise _Rewind()
                if e.closes:
                    self._commit(unit, token=token, upto=e.chunk)
                continue
            if token is None:
                return
            if token == e.sent:
                raise ProtocolError(f"[{self.source.id}] the provider repeated resumptionToken {token!r} back to "
                                    f"back at {e.url}; stopping instead of looping")
            if count >= MAX_PAGES:
                raise ProtocolError(f"[{self.source.id}] more than {MAX_PAGES} pages; stopping at {e.url}")
            if e.chunk.est_rows >= self.chunk_rows:
                self._commit(unit, token=token)
            nxt = {"resumptionToken": token}

    def _settle(self, unit: Unit, e: _InFlight) -> str | None:
        """Count a mapped page (in list order); its true resumptionToken, or raise as the
        single-process path would for this page (OAIError, PageError)."""
        res: PageResult = _answer(e.future)
        self.client.transfer.illegal_chars_removed += res.illegal_chars_removed
        if res.errors:
            code, message = res.errors[0]
            raise OAIError(code, message, e.url, self.source.id)
        p = self.pending
        if res.error is not None:
            exc = PageError(res.error[0], e.url, self.source.id, res.error[1])
            exc.content, exc.quarantined = e.content, True   # the worker wrote its quarantine row
            token = salvage_token(e.content)
            if token is None or token == e.sent:
                if e.guess is not None:
                    raise _Rewind()
                raise exc
            p["pages"] += 1
            p["quarantined"] += 1
            self.report.errors.append(f"{exc} (page quarantined; list continued with its token)")
        else:
            token = res.token
            p["pages"] += 1
            for k in ("listed", "records", "deleted", "quarantined"):
                p[k] += getattr(res, k)
            unit.complete_list_size = res.complete_list_size or unit.complete_list_size
            if e.content is not None and res.listed:
                self._settled_bytes += len(e.content)
                self._settled_rows += 2 * res.listed   # a records (or quarantine) row and a raw row each
        e.content = None
        if self.progress:
            self.progress(self._totals(), time.monotonic() - self.t0)
        return token

    def _rows_in(self, content: bytes) -> int:
        """About how many rows a fetched page will add to its chunk: counted on the pages sent
        before any has been mapped (two `header>` a record: one per table), then estimated from the
        rows per byte of the pages mapped so far, which costs no pass over the page."""
        if not self._settled_rows:
            return content.count(b"header>")
        return -(-len(content) * self._settled_rows // self._settled_bytes)

    def _open_chunk(self) -> _Chunk:
        if not self._chunks or self._chunks[-1].closed:
            self._chunks.append(_Chunk(self.writer.reserve()))
        return self._chunks[-1]

    def _key(self, chunk: _Chunk) -> str:
        return f"{self.source.id}/{self.report.run_id}/{chunk.seq}"

    def _send_page(self, chunk: _Chunk, url: str, content: bytes) -> Future:
        worker = self.pool.pick()
        chunk.parts[worker.index] = worker
        spec = {"data_dir": str(self.data_dir), "region": self.source.region, "source_id": self.source.id,
                "lineage": self.lineage, "crosswalk": self.source.crosswalk_name,
                "name": f"{self.report.run_id}-{chunk.seq:05d}-{worker.index}"}
        # the body travels out of band: written to the worker's pipe from its own memory
        return self.pool.submit(("page", self._key(chunk), spec, pickle.PickleBuffer(content), url), worker)[1]

    def _close_chunk(self, chunk: _Chunk) -> None:
        chunk.closed = True
        chunk.sealed = [self.pool.submit(("close", self._key(chunk)), w)[1] for w in chunk.parts.values()]

    def _seal_chunks(self, upto: _Chunk | None) -> list[str]:
        """Rename the parse workers' sealed files of every chunk up to `upto` (all when None) into
        place, in order; their relative paths."""
        files = []
        while self._chunks:
            chunk = self._chunks[0]
            if not chunk.closed:
                self._close_chunk(chunk)
            for fut in chunk.sealed:
                for tmp, final, fill in _answer(fut):
                    os.replace(tmp, final)
                    rel = str(Path(final).relative_to(self.data_dir))
                    files.append(rel)
                    if fill is not None:
                        self._fills[rel] = fill
            self._chunks.popleft()
            if chunk is upto:
                break
        return files

    def _abort_inflight(self) -> None:
        """Drop every page and chunk part not committed yet, and wait until the workers have."""
        self._inflight.clear()
        waits = []
        for chunk in self._chunks:
            if chunk.closed:
                waits += [(fut, True) for fut in chunk.sealed]
            else:
                waits += [(self.pool.submit(("abort", self._key(chunk)), w)[1], False) for w in chunk.parts.values()]
        self._chunks.clear()
        for fut, sealed in waits:
            try:
                sealed_files = _answer(fut)
            except HarvestError:
                continue
            for tmp, *_ in sealed_files if sealed else ():
                Path(tmp).unlink(missing_ok=True)

    def _commit(self, unit: Unit, token: str | None, status: str | None = None, upto: _Chunk | None = None) -> None:
        """Make the pending rows durable, then record them, the next token and the unit's status
        in one checkpoint: a kill between the two leaves files the resumed run deletes."""
        unit.chunks += self._seal_chunks(upto) if self._chunks else []
        unit.chunks += self.writer.commit()
        for k in COUNTERS:
            setattr(unit, k, getattr(unit, k) + self.pending[k])
        self.pending = dict.fromkeys(COUNTERS, 0)
        unit.token = token
        unit.status = status or unit.status
        self._checkpoint()

    def _reset_unit(self, unit: Unit) -> None:
        self._abort_inflight()
        self.writer.abort()
        self.pending = dict.fromkeys(COUNTERS, 0)
        for rel in unit.chunks:
            (self.data_dir / rel).unlink(missing_ok=True)
        unit.chunks, unit.token = [], None
        for k in COUNTERS:
            setattr(unit, k, 0)

    def _reslice(self, unit: Unit, exc: OAIError) -> None:
        """An expired or rejected token re-runs only its window, cut smaller (metha's approach)."""
        self._reset_unit(unit)
        g = self.ctx["granularity"]
        halves = split(Window(_utc(unit.from_), _utc(unit.until)), g) if unit.from_ and unit.until else None
        attempts = unit.attempts + 1
        self.report.warnings.append(f"window {_label(unit)}: {exc.code} at {exc.url}; "
                                    + ("re-running it as two smaller windows" if halves else "re-running it"))
        if halves and attempts <= MAX_WINDOW_ATTEMPTS + 5:
            i = self.units.index(unit)
            self.units[i:i + 1] = [Unit(unit.set_spec, *h.params(g).values(), attempts=attempts) for h in halves]
        elif attempts <= MAX_WINDOW_ATTEMPTS:
            unit.status, unit.attempts = "pending", attempts
        else:
            self._fail_unit(unit, f"{exc} (after {attempts} attempts)")
            return
        self._checkpoint()

    def _fail_unit(self, unit: Unit, message: str) -> None:
        """A window that cannot be completed: keep what it committed, report, go on with the others."""
        unit.error = message
        self._commit(unit, token=None, status="failed")
        self.report.errors.append(f"window {_label(unit)}: {message}")

    # ---- deletions census --------------------------------------------------------------------
    def _census_wanted(self) -> bool:
        return not self.ctx.get("ranged") and census_wanted(self.source, self.ctx.get("deleted_record"))

    def _census(self) -> None:
        from harvest.runs.census import tombstones_for_vanished

        rows = tombstones_for_vanished(self.client, self.source, self.data_dir, self.lineage,
                                       self.ctx["watermark_after"])
        for row in rows:
            self.writer.add("records", row)
        self.report.census_tombstones = len(rows)
        self.pending["records"] += len(rows)
        self.pending["deleted"] += len(rows)
        if self.units:
            self._commit(self.units[-1], token=None)

    # ---- the end ------------------------------------------------------------------------------
    def _totals(self) -> RunReport:
        r = self.report
        for k in ("pages", "records", "deleted", "quarantined"):
            setattr(r, k, sum(getattr(u, k) for u in self.units) + self.pending[k])
        return r

    def unplanned(self, exc: HarvestError) -> RunReport:
        r = RunReport(self.source.id, self.source.region, self.fixed_run_id or new_run_id(), status="failed",
                      started_at=datetime.now(timezone.utc).isoformat(), errors=[str(exc)],
                      watermark_before=self.state.watermark)
        t = self.client.transfer
        r.requests, r.retries, r.wait_seconds, r.warnings = t.requests, t.retries, round(t.wait_seconds, 3), t.events
        self.state.last_run_id, self.state.last_status = r.run_id, "failed"
        save_state(self.data_dir, self.state)
        write_json_atomic(self.reports_dir / f"{r.run_id}.json", r.as_dict())
        return r

    def finish(self, failure: HarvestError | None) -> RunReport:
        if failure is not None:   # uncommitted pages are fetched again when the run resumes
            self._abort_inflight()
            self.writer.abort()
            self.pending = dict.fromkeys(COUNTERS, 0)
        r = self._totals()
        t, before = self.client.transfer, self.ctx.get("transfer", {})
        r.requests = before.get("requests", 0) + t.requests
        r.retries = before.get("retries", 0) + t.retries
        r.bytes = before.get("bytes", 0) + t.bytes
        r.wait_seconds = round(before.get("wait_seconds", 0.0) + t.wait_seconds, 3)
        r.illegal_chars_removed = t.illegal_chars_removed
        r.warnings += t.events
        r.windows = [{k: v for k, v in asdict(u).items() if k != "chunks"} for u in self.units]
        r.files = sorted(c for u in self.units for c in u.chunks)
        if failure is not None:
            r.status = "failed"
            self.ctx["errors"] = list(r.errors)   # what the resumed run still owns
            self.ctx["warnings"] = r.warnings + [f"an earlier attempt failed: {failure}"]
            r.errors.append(f"{failure} — the next run resumes from the checkpoint")
            self.ctx["transfer"] = {"requests": r.requests, "retries": r.retries, "bytes": r.bytes,
                                    "wait_seconds": r.wait_seconds}
            self.state.in_progress = {**self.ctx, "units": [asdict(u) for u in self.units],
                                      "next_chunk": self.writer.seq}
        else:
            r.status = "complete" if all(u.status == "done" for u in self.units) and not r.errors else "partial"
            if r.status == "complete" and not self.ctx.get("ranged"):
                if self.ctx.get("full"):
                    replace_earlier_files(self.data_dir, self.source.id, r.files)
                self.state.watermark, self.state.granularity = r.watermark_after, r.granularity
            self.state.in_progress = None
        self.state.last_run_id, self.state.last_status = r.run_id, r.status
        save_state(self.data_dir, self.state)
        if r.status != "failed":
            r.validation = self._validation_report(r.files)
        r.seconds = round(time.monotonic() - self.t0, 3)
        r.finished_at = datetime.now(timezone.utc).isoformat()
        write_json_atomic(self.reports_dir / f"{r.run_id}.json", r.as_dict())
        return r

    def _validation_report(self, files: list[str]) -> dict:
        """harvest.validation's report over the run's files. The fill counts of the files the
        parse workers sealed came with them: when those are all the records files and there is
        no quarantine file, nothing is read. Otherwise it is computed in a parse worker (pyarrow
        is loaded there; this process stays without it) when there is one."""
        from harvest.store.fills import validation_report

        known = {f: self._fills[f] for f in files if f in self._fills}
        unread = [f for f in files if f.startswith("quarantine/") or (f.startswith("records/") and f not in known)]
        if unread and self.pool is not None:
            try:
                return _answer(self.pool.submit(("validate", None, str(self.data_dir), files, known))[1])
            except HarvestError:   # no live worker (the files are committed): compute it here
                pass
        return validation_report(self.data_dir, files, known)


def census_wanted(source: Source, deleted_record: str | None) -> bool:
    """Whether a complete, unranged run takes a deletion census: the config says so, or Identify's
    deletedRecord says the provider does not keep deletions (no, transient)."""
    mode = source.deletion_census
    return mode != "never" and (mode == "always" or deleted_record in ("no", "transient"))


def replace_earlier_files(data_dir: Path, source_id: str, keep: list[str]) -> None:
    """A complete full re-harvest replaces what came before: remove the source's records and raw
    files that the run (files `keep`, relative to data_dir) did not write."""
    mine = set(keep)
    for table in ("records", "raw"):
        for path in committed_files(data_dir, table, source_id):
            if str(path.relative_to(data_dir)) not in mine:
                path.unlink()


def _utc(value: str | None, end_of_day: bool = False) -> datetime | None:
    """A datestamp argument as UTC; a day-only `until` means the whole day (spec 3.3.1: inclusive)."""
    if not value:
        return None
    try:
        dt = parse_utc(value)
    except ValueError:
        return None
    return dt + timedelta(days=1, seconds=-1) if end_of_day and len(value.strip()) == 10 else dt


def _label(unit: Unit) -> str:
    span = f"{unit.from_ or '*'}..{unit.until or '*'}"
    return f"{unit.set_spec}:{span}" if unit.set_spec else span


def run_source(source: Source, data_dir: Path, *, full: bool = False, from_: str | None = None,
               until: str | None = None, restart: bool = False, progress: Progress | None = None,
               clock: Clock = REAL, chunk_rows: int = 10_000, credentials=None,
               parse_workers: int | None = None) -> RunReport:
    """Harvest one source into data_dir (resuming an interrupted run unless told otherwise);
    returns the run report, which is also written to runs/<source>/<run_id>.json. `credentials`
    (harvest.oai.client.Credentials) override the source's credentials_env. `parse_workers`: None for
    the process's shared parse workers (see default_parse_workers), 0 to parse in this process."""
    h = Harvest(source, data_dir, progress=progress, clock=clock, chunk_rows=chunk_rows, credentials=credentials,
                parse_workers=parse_workers)
    return h.execute(full=full, from_=from_, until=until, restart=restart)
