"""Parse workers: a standard process pool that maps and writes parts (harvest.runs.parts): pages'
bytes in, sealed Parquet files out.

Mapping is CPU-bound Python; threads of one process would share one core's worth of it. The pool
is concurrent.futures' ProcessPoolExecutor on a forkserver (spawn where there is none) that has
the mapping code and lxml loaded once, so a worker starts as a cheap fork of it. One pool
serves every harvest of the process (`harvest run --all` harvests sources in threads).

A worker that dies breaks the pool: what was in flight fails with a clear error, the run keeps its
checkpoint and resumes from it, and the next harvest gets a new pool. A worker that gives no
answer for `HARVEST_PARSE_TIMEOUT` seconds is taken for hung and the pool's workers are stopped.
Workers leave when the harvesting process is gone, even if it was killed.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import select
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from harvest.errors import HarvestError

# a part (up to chunk_rows records) normally takes a few seconds: a worker silent for this long is hung
WORKER_TIMEOUT_S = float(os.environ.get("HARVEST_PARSE_TIMEOUT", "600"))


def default_parse_workers() -> int:
    """HARVEST_PARSE_WORKERS, else one per core up to 2 (the harvesting process only fetches and
    reads each page's envelope); 0 maps in the harvesting process itself."""
    value = os.environ.get("HARVEST_PARSE_WORKERS")
    if value not in (None, ""):
        return max(0, int(value))
    cores = os.cpu_count() or 1
    return min(2, cores) if cores > 1 else 0


class _NoArrays:
    """An import hook that refuses numpy and pandas: pyarrow loads numpy with itself and pandas on
    a process's first array when it can (~60 MB a worker, and ~0.3 CPU s, never used there);
    without them it builds arrays, computes and writes Parquet all the same."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("numpy", "pandas"):
            raise ImportError(f"{name} is not loaded in parse workers")
        return None


def _start_worker(harvester: int) -> None:
    """A worker's start: what the forkserver loaded moved out of the garbage collector's way (a
    collection would otherwise walk, and so copy, the pages the workers share with it); pyarrow
    loaded without numpy and pandas while the harvesting process fetches the first pages; leave
    once the harvesting process is gone."""
    gc.freeze()
    _watch_harvester(harvester)
    sys.meta_path.insert(0, _NoArrays())
    import pyarrow.compute  # noqa: F401  (the fill counts)
    import pyarrow.parquet  # noqa: F401


def _watch_harvester(harvester: int) -> None:
    """In a worker: leave once the harvesting process is gone. One killed by SIGKILL never shuts its
    pool down, and its workers outlive it otherwise: each holds the forkserver's liveness pipe
    (for forking workers of its own), so the forkserver does not see its owner go either."""

    def watch() -> None:
        try:
            handle = os.pidfd_open(harvester)  # readable once that process has ended (Linux)
        except (AttributeError, OSError):
            handle = None
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(harvester):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="harvester-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # not pyarrow: it would bring numpy along, which each worker then shares but never uses
        ctx.set_forkserver_preload(["harvest.runs.pool", "harvest.runs.parts"])
        return ctx
    return multiprocessing.get_context("spawn")


class ParsePool:
    """The parse workers: `submit` a task, `result` gives what it returned or a HarvestError."""

    def __init__(self, workers: int):
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            workers, mp_context=_context(), initializer=_start_worker, initargs=(os.getpid(),)
        )
        self.broken: str | None = None

    def submit(self, fn, /, *args) -> Future:
        try:
            return self.executor.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: shut down meanwhile
            self.broken = self.broken or f"a parse worker died ({exc})"
            raise HarvestError(self.broken) from exc

    def result(self, future: Future):
        try:
            return future.result(timeout=WORKER_TIMEOUT_S)
        except FutureTimeout:
            self.broken = f"a parse worker gave no answer in {WORKER_TIMEOUT_S:g} s (hung); the workers were stopped"
            self.kill()
        except BrokenProcessPool as exc:
            self.broken = self.broken or f"a parse worker died ({exc})"
        except OSError as exc:  # writing its files (a full disk, a folder gone): the run fails and resumes
            raise HarvestError(f"a parse worker could not write its files: {exc}") from exc
        raise HarvestError(self.broken)

    def pids(self) -> list[int]:
        """The workers' process ids (started on the first pages)."""
        return list(getattr(self.executor, "_processes", None) or {})

    def kill(self) -> None:
        """Stop every worker now. ProcessPoolExecutor has no public way to (Python 3.14 adds
        kill_workers); the pool then counts as broken and is replaced."""
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def close(self, grace: float = 10.0) -> None:
        """Let the workers finish and leave; one still there after `grace` seconds (hung, or
        stopped) is killed, so closing never waits forever."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()


_POOL: ParsePool | None = None
_POOL_LOCK = threading.Lock()


def parse_pool(workers: int | None = None) -> ParsePool:
    """The process's parse workers, started on first use (and after a broken pool), stopped at exit."""
    global _POOL
    with _POOL_LOCK:
        # a pool broken while idle (a worker killed between harvests) says so only in a private flag
        if _POOL is None or _POOL.broken or _POOL.executor._broken:
            _POOL = ParsePool(max(1, workers or default_parse_workers()))
            atexit.register(_POOL.close)
        return _POOL


def close_pool() -> None:
    """Stop the process's parse workers (a new pool starts on the next use)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.close()
