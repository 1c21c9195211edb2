"""The parse worker process (to be replaced by a standard process pool)."""
from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import Callable

from harvest.crosswalk import Crosswalk
from harvest.records.pages import map_page

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
    from harvest.store.writers import ChunkPart
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
                    from harvest.store.fills import validation_report

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
