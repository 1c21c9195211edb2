"""The harvest loop: a run's units listed page by page (harvest.oai.paging.list_pages), each page
mapped in this process or in the parse workers, the results committed in list order in durable
chunks, with the checkpoint saved after every chunk.

The harvesting process reads each page itself (its resumptionToken, its OAI errors), so the next
request goes out while the workers map this one; up to IN_FLIGHT pages are on their way at once,
which keeps memory flat whatever the partner's size. An expired resumptionToken re-runs only its
window, cut smaller; a window that cannot be completed is reported and the others go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass

from harvest.config import Source
from harvest.crosswalk import Crosswalk
from harvest.errors import HarvestError, OAIError, PageError, ProtocolError
from harvest.oai import OAIClient, list_pages
from harvest.oai.page import Page
from harvest.records.pages import PageSpec, PageTables, map_page, unreadable_page
from harvest.records.pool import ParsePool
from harvest.records.rows import Lineage
from harvest.runs.checkpoint import COUNTERS, Checkpoint, Unit
from harvest.runs.plan import halves
from harvest.store.storage import Storage
from harvest.store.writers import ChunkWriter

MAX_WINDOW_ATTEMPTS = 3
MAX_PAGES = 10_000_000
IN_FLIGHT = 8


class Mapper:
    """How a run's pages become tables: in this process (`pool` None) or in the parse workers."""

    def __init__(self, source: Source, crosswalk: Crosswalk, lineage: Lineage, pool: ParsePool | None):
        self.pool, self.lineage, self.crosswalk = pool, lineage, crosswalk
        self.spec = PageSpec(source.id, source.crosswalk_name, lineage)

    def submit(self, page: Page) -> Future:
        if self.pool is not None and page.error is None:
            return self.pool.submit(self.spec, page.body, page.url)
        done: Future = Future()
        done.set_result(
            unreadable_page(page.error, self.lineage)
            if page.error is not None
            else map_page(page, self.crosswalk, self.lineage)
        )
        return done

    def result(self, future: Future) -> PageTables:
        return self.pool.result(future) if self.pool is not None else future.result()


@dataclass
class _Sent:
    """A page on its way through the mapper."""

    url: str
    token: str | None
    complete_list_size: int | None
    future: Future


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
        progress: Callable[[], None] | None = None,
    ):
        self.source, self.storage, self.checkpoint = source, storage, checkpoint
        self.client, self.mapper, self.save = client, mapper, save
        self.chunk_rows, self.progress = chunk_rows, progress
        self.writer = ChunkWriter(storage, source.region, source.id, checkpoint.run_id, seq=checkpoint.next_chunk)
        self.pending = dict.fromkeys(COUNTERS, 0)  # of pages settled since the last commit

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
        except ProtocolError as exc:
            self._fail_unit(unit, str(exc))
            return
        except PageError as exc:  # unreadable and no token to step over it: the window ends here
            self.writer.add_tables(unreadable_page(exc, self.mapper.lineage).tables)
            self.pending["quarantined"] += 1
            self._fail_unit(unit, str(exc))
            return
        self._commit(unit, token=None, status="done")
        if unit.complete_list_size and unit.listed < unit.complete_list_size:
            self.checkpoint.warnings.append(
                f"window {unit.label}: completeListSize {unit.complete_list_size} but {unit.listed} listed"
            )

    def _list(self, unit: Unit) -> None:
        """Send each page to the mapper as it comes; settle them in list order. What went wrong
        further on the list is raised once the pages before it are settled; a page that cannot be
        settled (a worker died) ends the list at once, with nothing after it kept."""
        inflight: deque[_Sent] = deque()
        pages = list_pages(self.client, "ListRecords", unit.params(self.source.metadata_prefix), max_pages=MAX_PAGES)
        with closing(pages):
            while True:
                try:
                    page = next(pages, None)
                except HarvestError:
                    self._drain(unit, inflight)
                    raise
                if page is None:
                    break
                self.pending["pages"] += 1
                if page.error is not None:
                    self.checkpoint.errors.append(f"{page.error} (page quarantined; list continued with its token)")
                inflight.append(_Sent(page.url, page.token, page.complete_list_size, self.mapper.submit(page)))
                del page  # its tree is not needed past this point
                while inflight and (len(inflight) >= IN_FLIGHT or inflight[0].future.done()):
                    self._settle(unit, inflight.popleft())
        self._drain(unit, inflight)

    def _drain(self, unit: Unit, inflight: deque[_Sent]) -> None:
        while inflight:
            self._settle(unit, inflight.popleft())

    def _settle(self, unit: Unit, sent: _Sent) -> None:
        result = self.mapper.result(sent.future)
        self.writer.add_tables(result.tables)
        for name in ("listed", "records", "deleted", "quarantined"):
            self.pending[name] += getattr(result, name)
        unit.complete_list_size = sent.complete_list_size or unit.complete_list_size
        if self.progress:
            self.progress()
        if sent.token and self.writer.pending_rows >= self.chunk_rows:
            self._commit(unit, token=sent.token)

    def _commit(self, unit: Unit, token: str | None, status: str | None = None) -> None:
        """Make the pending rows durable, then record them, the next token and the unit's status
        in one checkpoint: a kill between the two leaves files the resumed run deletes."""
        unit.chunks += self.writer.commit()
        for name in COUNTERS:
            setattr(unit, name, getattr(unit, name) + self.pending[name])
        self.pending = dict.fromkeys(COUNTERS, 0)
        unit.token = token
        unit.status = status or unit.status
        self.save()

    def abort(self) -> None:
        """Drop what is not committed: its pages are fetched again when the run resumes."""
        self.writer.abort()
        self.pending = dict.fromkeys(COUNTERS, 0)

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
        self._commit(unit, token=None, status="failed")
        self.checkpoint.errors.append(f"window {unit.label}: {message}")

    def totals(self) -> dict[str, int]:
        """The run's counts so far, committed or not."""
        return {
            name: sum(getattr(u, name) for u in self.checkpoint.units) + self.pending[name]
            for name in ("pages", "records", "deleted", "quarantined")
        }
