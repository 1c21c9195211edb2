"""The harvest loop: a run's units listed page by page (harvest.oai.paging.list_pages), the pages
gathered into parts of about `chunk_rows` records, each part mapped and written as one chunk's
files (harvest.runs.parts) in a parse worker or in this process, and the chunks committed in list
order, with the checkpoint saved after every one.

The harvesting process reads each page's envelope itself (its resumptionToken, its OAI errors),
so the next request goes out while the workers map the parts before it; at most one part more
than there are workers is on its way, which keeps memory flat whatever the partner's size. An
expired resumptionToken re-runs only its window, cut smaller; a window that cannot be completed
is reported and the others go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, field

from harvest.config import Source
from harvest.errors import HarvestError, OAIError, PageError, ProtocolError
from harvest.oai import OAIClient, list_pages
from harvest.runs.checkpoint import Checkpoint, Unit
from harvest.runs.parts import PartPage, PartSpec, Written, write_part
from harvest.runs.plan import halves
from harvest.runs.pool import ParsePool
from harvest.store.storage import Storage

MAX_WINDOW_ATTEMPTS = 3
MAX_PAGES = 10_000_000
# a part's pages' bytes at most, whatever their records: the harvesting process holds a few parts,
# a worker one; smaller parts keep both busier, larger ones make fewer files (docs/performance.md)
CHUNK_BYTES = 4 * 2**20


class Mapper:
    """How a run's parts become files: in this process (`pool` None) or in the parse workers."""

    def __init__(self, spec: PartSpec, pool: ParsePool | None):
        self.spec, self.pool = spec, pool
        # parts on their way at once: one for each worker and one queued, so none waits for work
        self.in_flight = pool.workers + 1 if pool is not None else 1

    def submit(self, seq: int, pages: list[PartPage]) -> Future:
        if self.pool is not None:
            return self.pool.submit(write_part, self.spec, seq, pages)
        done: Future = Future()
        try:
            done.set_result(write_part(self.spec, seq, pages))
        except HarvestError as exc:  # raised when the part is settled, as a worker's would be
            done.set_exception(exc)
        return done

    def result(self, future: Future) -> Written:
        return self.pool.result(future) if self.pool is not None else future.result()


@dataclass
class _Part:
    """Pages gathered for one chunk, then on their way through the mapper."""

    seq: int
    pages: list[PartPage] = field(default_factory=list)
    listed: int = 0  # records the pages list, as this process counted them
    nbytes: int = 0
    token: str | None = None  # the resumptionToken after the part's last page
    complete_list_size: int | None = None
    last: bool = False  # the list's last part: its commit completes the unit
    future: Future | None = None

    def add(self, page: PartPage, listed: int) -> None:
        self.pages.append(page)
        self.listed += listed
        self.nbytes += len(page.body or b"")


class Harvester:
    """Lists the units of one run and commits what their pages become."""

    def __init__(
        self,
        source: Source,
        storage: Storage,
        checkpoint: Checkpoint,
        client: OAIClient,
        mapper: Mapper,
        save: Callable[[], None],
        *,
        chunk_rows: int = 10_000,
        chunk_bytes: int = CHUNK_BYTES,
        progress: Callable[[], None] | None = None,
    ):
        self.source, self.storage, self.checkpoint = source, storage, checkpoint
        self.client, self.mapper, self.save = client, mapper, save
        self.chunk_rows, self.chunk_bytes, self.progress = chunk_rows, chunk_bytes, progress
        self.next_seq = checkpoint.next_chunk  # chunk numbers are never reused within a run
        self.fills: dict[str, dict] = {}  # committed records files: their fill counts
        self.inflight: deque[_Part] = deque()
        self.pending_pages = 0  # listed, not yet committed

    def run(self) -> None:
        while (unit := self.checkpoint.next_unit()) is not None:
            self._harvest_unit(unit)

    def _harvest_unit(self, unit: Unit) -> None:
        unit.status = "active"
        try:
            self._list(unit)
        except OAIError as exc:
            if exc.code != "badResumptionToken":
                raise
            self._reslice(unit, exc)
            return
        except (ProtocolError, PageError) as exc:  # PageError: unreadable, no token to step over it
            self._fail_unit(unit, str(exc))
            return
        if unit.complete_list_size and unit.listed < unit.complete_list_size:
            self.checkpoint.warnings.append(
                f"window {unit.label}: completeListSize {unit.complete_list_size} but {unit.listed} listed"
            )

    def _new_part(self) -> _Part:
        part = _Part(self.next_seq)
        self.next_seq += 1
        return part

    def _list(self, unit: Unit) -> None:
        """Gather the pages into parts and send each to the mapper as it is full; commit them in
        list order. A list that breaks the protocol or ends on an unreadable page (quarantined)
        ends its window once the pages before it are committed; anything else (the network, an
        OAI error) fails the run once the parts already sent are committed, and the pages of the
        part being gathered are fetched again when it resumes. A part that cannot be written (a
        worker died) fails the run at once."""
        pages = list_pages(self.client, "ListRecords", unit.params(self.source.metadata_prefix), max_pages=MAX_PAGES)
        part = self._new_part()
        with closing(pages):
            while True:
                try:
                    page = next(pages, None)
                except (ProtocolError, PageError) as exc:  # the window ends here; the run goes on
                    if isinstance(exc, PageError):
                        part.add(PartPage(exc.url, exc.content, (exc.reason, exc.detail)), 1)
                        self.pending_pages += 1
                    self._send(unit, part)
                    self._drain(unit)
                    raise
                except HarvestError:  # the parts already sent are kept, the one being gathered not
                    self._drain(unit)
                    raise
                if page is None:
                    break
                self.pending_pages += 1
                if page.error is not None:
                    self.checkpoint.errors.append(f"{page.error} (page quarantined; list continued with its token)")
                    part.add(PartPage(page.url, page.error.content, (page.error.reason, page.error.detail)), 1)
                else:
                    part.add(PartPage(page.url, page.body), len(page.items))
                part.token = page.token
                part.complete_list_size = page.complete_list_size or part.complete_list_size
                del page  # its tree is not needed past this point
                if self.progress:
                    self.progress()
                if part.token and (part.listed >= self.chunk_rows or part.nbytes >= self.chunk_bytes):
                    self._send(unit, part)
                    part = self._new_part()
        part.last = True
        self._send(unit, part)
        self._drain(unit)
        if unit.status != "done":  # a list of no pages
            self._commit(unit, None, 0, token=None, status="done")

    def _send(self, unit: Unit, part: _Part) -> None:
        if part.pages:
            part.future = self.mapper.submit(part.seq, part.pages)
            self.inflight.append(part)
        while self.inflight and (len(self.inflight) > self.mapper.in_flight or self.inflight[0].future.done()):
            self._settle(unit, self.inflight.popleft())

    def _drain(self, unit: Unit) -> None:
        while self.inflight:
            self._settle(unit, self.inflight.popleft())

    def _settle(self, unit: Unit, part: _Part) -> None:
        written = self.mapper.result(part.future)
        unit.complete_list_size = part.complete_list_size or unit.complete_list_size
        status = "done" if part.last else None
        self._commit(unit, written, len(part.pages), token=None if part.last else part.token, status=status)
        if self.progress:
            self.progress()

    def _commit(
        self, unit: Unit, written: Written | None, pages: int, token: str | None, status: str | None = None
    ) -> None:
        """Rename a written part's files into place, then record them, the next token and the unit's
        status in one checkpoint: a kill between the two leaves files the resumed run deletes."""
        if written is not None:
            for tmp, final in written.files:
                self.storage.rename(tmp, final)
                unit.chunks.append(final)
            self.fills.update(written.fills)
            for name in ("listed", "records", "deleted", "quarantined"):
                setattr(unit, name, getattr(unit, name) + getattr(written, name))
        unit.pages += pages
        self.pending_pages -= pages
        unit.token = token
        unit.status = status or unit.status
        self.save()

    def abort(self) -> None:
        """Drop what is not committed: its pages are fetched again when the run resumes. Parts
        still on their way are waited for (a broken pool answers at once) so that no worker
        writes after their files are removed."""
        while self.inflight:
            part = self.inflight.popleft()
            try:
                self.mapper.result(part.future)
            except HarvestError:
                pass
            for rel in self.mapper.spec.temporary_files(part.seq):
                self.storage.delete(rel)
        self.pending_pages = 0

    def _reslice(self, unit: Unit, exc: OAIError) -> None:
        """An expired or rejected token re-runs only its window, cut smaller (metha's approach)."""
        self.abort()
        for rel in unit.restart():
            self.storage.delete(rel)
        parts = halves(unit, self.checkpoint.granularity)
        attempts = unit.attempts + 1
        self.checkpoint.warnings.append(
            f"window {unit.label}: {exc.code} at {exc.url}; "
            + ("re-running it as two smaller windows" if parts else "re-running it")
        )
        if parts and attempts <= MAX_WINDOW_ATTEMPTS + 5:
            i = self.checkpoint.units.index(unit)
            self.checkpoint.units[i : i + 1] = parts
        elif attempts <= MAX_WINDOW_ATTEMPTS:
            unit.status, unit.attempts = "pending", attempts
        else:
            self._fail_unit(unit, f"{exc} (after {attempts} attempts)")
            return
        self.save()

    def _fail_unit(self, unit: Unit, message: str) -> None:
        """A window that cannot be completed: keep what it committed, report, go on with the others."""
        unit.error = message
        self._commit(unit, None, 0, token=None, status="failed")
        self.checkpoint.errors.append(f"window {unit.label}: {message}")

    def totals(self) -> dict[str, int]:
        """The run's counts so far, committed or not."""
        return {
            name: sum(getattr(u, name) for u in self.checkpoint.units) + (self.pending_pages if name == "pages" else 0)
            for name in ("pages", "records", "deleted", "quarantined")
        }
