"""Parse workers (harvest.pipeline.ParsePool): the same rows, counts and errors as parsing in the
harvesting process, on the same pages, broken ones included; a wrong token guess is rewound."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from harvest.config.sources import Politeness, Source
from harvest.demo import DemoNetwork
from harvest.demo.faults import Fault
from harvest.demo.partners import partner
from harvest.demo.provider import Provider
from harvest.oai.page import parse_page, tail_token
from harvest.runs.pipeline import run_source
from harvest.store.datasets import committed_files, read_committed
from tests.oai.scripted_server import ScriptedServer

VOLATILE = {"run_id", "harvested_at", "quarantined_at", "page_url"}   # differ from run to run


@pytest.fixture(scope="module")
def net():
    with DemoNetwork() as network:
        yield network


def source(net, pid, **kw) -> Source:
    p = partner(pid)
    return Source(id=pid, name=p.name, region=p.region, endpoint=net.url_for(pid), metadata_prefix=p.formats[0],
                  window=kw.pop("window", "none"), politeness=Politeness(max_retries=2, max_retry_after_seconds=0),
                  **kw)


def rows(data, pid, table) -> list[tuple]:
    out = []
    for row in read_committed(data, table, pid).to_pylist():
        if table == "quarantine":
            assert row["page_url"] and "verb=ListRecords" in row["page_url"]
            if row["oai_identifier"] is None:   # a whole page: its bytes hold a responseDate and tokens
                assert row["raw_xml"].lstrip().startswith(b"<")
                row["raw_xml"] = len(row["raw_xml"]) // 100
        out.append(tuple(sorted((k, repr(v)) for k, v in row.items() if k not in VOLATILE)))
    return sorted(out)


def summary(report) -> dict:
    return {"status": report.status, "pages": report.pages, "records": report.records, "deleted": report.deleted,
            "quarantined": report.quarantined, "illegal": report.illegal_chars_removed,
            "errors": [_stable(e) for e in report.errors],
            "windows": [(w["status"], w["records"], w["quarantined"], w["listed"]) for w in report.windows],
            "validation": report.validation}   # computed in a parse worker, or here with parse_workers=0


def _stable(message: str) -> str:
    """An error message without what differs between two runs: URLs, window ends, tokens (which
    carry the time of the list's first request)."""
    message = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z", "<time>", message)
    return re.sub(r"'[^']*'", "'<token>'", message.split(" at ")[0].split("unreadable page")[0])


SCENARIOS = [
    ("aosp-africa", ()),                                               # two unmappable records
    ("aosp-africa", (Fault("malformed", page=2),)),                    # unreadable page, list goes on
    ("aosp-africa", (Fault("xxe", page=1),)),
    ("ardc-rda", (Fault("illegal_chars", page=1),)),
    ("eosc-zenodo", (Fault("expire_token", page=2),)),                 # badResumptionToken: window redone
    ("lareferencia", (Fault("repeat_token", page=2),)),                # the list stops with an error
    ("mosp-malaysia", (Fault("status", status=503, page=3, times=None),)),   # fails; resumes later
]


@pytest.mark.parametrize("pid, faults", SCENARIOS, ids=[f"{p}-{'+'.join(f.kind for f in fs) or 'clean'}"
                                                         for p, fs in SCENARIOS])
def test_workers_write_what_the_single_process_path_writes(net, tmp_path, pid, faults):
    reports = {}
    for workers in (0, 2):
        net.reset()
        net.inject(pid, *(replace(f, fired=0) for f in faults))   # each fault fires afresh
        reports[workers] = run_source(source(net, pid), tmp_path / str(workers), chunk_rows=40,
                                      parse_workers=workers)
    net.reset()
    assert summary(reports[0]) == summary(reports[2])
    for table in ("records", "raw", "quarantine"):
        assert rows(tmp_path / "0", pid, table) == rows(tmp_path / "2", pid, table), table
    assert reports[2].records + reports[2].quarantined > 0
    assert all("-0.parquet" in f or "-1.parquet" in f for f in reports[2].files)   # the workers' parts
    assert not list((tmp_path / "2").rglob(".part-*.tmp"))


def test_a_resumed_run_gives_the_same_rows_with_workers(net, tmp_path):
    net.inject("mosp-malaysia", Fault("status", status=503, page=3, times=None))
    first = run_source(source(net, "mosp-malaysia"), tmp_path, chunk_rows=1, parse_workers=2)
    assert first.status == "failed" and first.records > 0
    net.reset()
    second = run_source(source(net, "mosp-malaysia"), tmp_path, chunk_rows=1, parse_workers=2)
    assert second.resumed and second.status == "complete"
    whole = run_source(source(net, "mosp-malaysia"), tmp_path / "whole", parse_workers=0)
    assert rows(tmp_path, "mosp-malaysia", "records") == rows(tmp_path / "whole", "mosp-malaysia", "records")


def _pages(partner_id: str) -> list[bytes]:
    provider = Provider(partner(partner_id), "http://127.0.0.1/oai", page_size=20)
    pages, args = [], {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]}
    while True:
        body = provider.handle(args)[1]
        pages.append(body)
        token = parse_page(body, "scripted").token
        if not token:
            return [provider.handle({"verb": ["Identify"]})[1], *pages]
        args = {"verb": ["ListRecords"], "resumptionToken": [token]}


def test_a_wrong_token_guess_is_rewound_and_every_record_kept_once(tmp_path):
    identify, *pages = _pages("mosp-malaysia")
    assert len(pages) >= 3
    # the last page has no token element at all (allowed), but a record's payload near its end
    # carries a decoy one
    pages[-1] = re.sub(rb"<resumptionToken[^>]*>\s*</resumptionToken>|<resumptionToken[^>]*/>", b"", pages[-1])
    decoy = b'<x:resumptionToken xmlns:x="urn:decoy">decoy</x:resumptionToken></metadata>'
    cut = pages[-1].rindex(b"</metadata>")
    pages[-1] = pages[-1][:cut] + decoy + pages[-1][cut + len(b"</metadata>"):]
    assert tail_token(pages[-1]) == "decoy" and parse_page(pages[-1], "x").token is None
    bad = Provider(partner("mosp-malaysia"), "http://127.0.0.1/oai").error_page("badResumptionToken", "no such token")
    script = [(200, {}, identify), *[(200, {}, p) for p in pages], (200, {}, bad), *[(200, {}, p) for p in pages]]
    with ScriptedServer(script) as srv:
        src = Source(id="decoy", name="Decoy", region="malaysia", endpoint=srv.url, metadata_prefix="oai_dc",
                     window="none", deletion_census="never", politeness=Politeness(max_retries=0))
        report = run_source(src, tmp_path, parse_workers=2)
        requests = list(srv.requests)
    assert report.status == "complete", report.errors
    assert any("resumptionToken=decoy" in r for r in requests)            # it was guessed, then undone
    ids = read_committed(tmp_path, "records", "decoy").column("oai_identifier").to_pylist()
    listed = sum(len(parse_page(p, "x").items) for p in pages)
    assert len(ids) == len(set(ids)) and report.records + report.quarantined == listed
    assert report.pages == len(pages)
    assert committed_files(tmp_path, "raw", "decoy")


def test_a_page_whose_token_is_out_of_sight_of_the_tail_scan_ends_a_chunk_and_the_list_goes_on(tmp_path):
    """A page that looks final by its last bytes has its chunk sealed while it is parsed. Here the
    tail scan is blind (trailing whitespace longer than its window) on every page but the last:
    each page then ends a chunk, and the parse's token continues the list; nothing is lost or
    written twice."""
    identify, *pages = _pages("mosp-malaysia")
    assert len(pages) >= 3
    blind = [p + b" " * 5000 for p in pages[:-1]]
    assert all(tail_token(p) is None and parse_page(p, "x").token for p in blind)
    script = [(200, {}, identify), *[(200, {}, p) for p in blind], (200, {}, pages[-1])]
    with ScriptedServer(script) as srv:
        src = Source(id="blind", name="Blind", region="malaysia", endpoint=srv.url, metadata_prefix="oai_dc",
                     window="none", deletion_census="never", politeness=Politeness(max_retries=0))
        report = run_source(src, tmp_path, parse_workers=2)
    assert report.status == "complete", report.errors
    listed = sum(len(parse_page(p, "x").items) for p in pages)
    ids = read_committed(tmp_path, "records", "blind").column("oai_identifier").to_pylist()
    assert len(ids) == len(set(ids)) and report.records + report.quarantined == listed
    assert report.pages == len(pages)
    seqs = {re.search(r"part-[^-]+-[^-]+-(\d+)-\d\.parquet", f).group(1)
            for f in report.files if f.startswith("records/")}
    assert len(seqs) == len(pages)   # one chunk per page: each blind page closed its own
    assert report.validation["live_records"] == report.records - report.deleted


@pytest.fixture
def fresh_pool():
    """A new parse pool for the test (worker 0 started by the harvester, worker 1 forked by worker 0),
    closed afterwards: a test that kills workers leaves none behind for the next."""
    import harvest.runs.pipeline as pipeline

    def close():
        if pipeline._POOL is not None:
            pipeline._POOL.close()
            pipeline._POOL = None

    close()
    yield pipeline.parse_pool
    close()


def _exited(pid: int, timeout: float = 5.0) -> bool:
    """The process is gone or a zombie (a forked worker is reaped by worker 0, or by init once
    worker 0 is gone) within `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):   # gone before the open, or between open and read
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("index", [0, 1], ids=["started-worker", "forked-worker"])
def test_a_parse_worker_killed_mid_run_loses_nothing(net, tmp_path, fresh_pool, index):
    """SIGKILL one parse worker while pages are in flight: the run either finishes on the other
    worker or fails and is resumed; either way every record is written exactly once."""
    import os
    import signal

    whole = run_source(source(net, "eosc-zenodo"), tmp_path / "whole", parse_workers=0)
    killed = []

    def kill_one(report, seconds):
        if not killed:
            victim = fresh_pool().workers[index]
            assert victim.ready.wait(10) and victim.pid and victim.pid != os.getpid()
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    first = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, progress=kill_one,
                       parse_workers=2)
    assert killed and first.status in ("complete", "failed") and _exited(killed[0])
    if first.status == "failed":
        assert "parse worker" in " ".join(first.errors)
        again = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, parse_workers=2)
        assert again.resumed and again.status == "complete", again.errors
    assert rows(tmp_path / "run", "eosc-zenodo", "records") == rows(tmp_path / "whole", "eosc-zenodo", "records")
    assert rows(tmp_path / "run", "eosc-zenodo", "raw") == rows(tmp_path / "whole", "eosc-zenodo", "raw")
    assert not list((tmp_path / "run").rglob(".part-*.tmp"))
    assert whole.records > 100


@pytest.mark.parametrize("index", [0, 1], ids=["started-worker", "forked-worker"])
def test_a_hung_parse_worker_is_stopped_and_the_run_resumes_without_losses(net, tmp_path, monkeypatch, fresh_pool,
                                                                          index):
    """SIGSTOP one parse worker mid-run (alive, never answering): after the timeout it is killed, the
    run fails naming it, and the resumed run writes every record exactly once."""
    import os
    import signal

    import harvest.runs.pipeline as pipeline

    whole = run_source(source(net, "eosc-zenodo"), tmp_path / "whole", parse_workers=0)
    monkeypatch.setattr(pipeline, "WORKER_TIMEOUT_S", 1.0)
    stopped = []

    def stop_one(report, seconds):
        if not stopped:
            victim = fresh_pool().workers[index]
            assert victim.ready.wait(10) and victim.pid
            os.kill(victim.pid, signal.SIGSTOP)
            stopped.append(victim)

    first = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, progress=stop_one,
                       parse_workers=2)
    assert stopped and stopped[0].dead and _exited(stopped[0].pid)
    if stopped[0].proc is not None:
        assert stopped[0].proc.wait(5) == -signal.SIGKILL
    assert first.status == "failed" and "gave no answer in 1 s (hung)" in " ".join(first.errors), first.errors
    again = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, parse_workers=2)
    assert again.resumed and again.status == "complete", again.errors
    assert rows(tmp_path / "run", "eosc-zenodo", "records") == rows(tmp_path / "whole", "eosc-zenodo", "records")
    assert rows(tmp_path / "run", "eosc-zenodo", "raw") == rows(tmp_path / "whole", "eosc-zenodo", "raw")
    assert not list((tmp_path / "run").rglob(".part-*.tmp"))


def test_workers_after_the_first_are_forked_from_it_and_all_exit_when_the_pool_closes(fresh_pool):
    """Worker 0 is a new interpreter, a child of the harvester; worker 1 is forked by worker 0 (its
    parent), so the libraries are loaded once. Closing the pool ends both."""
    import fcntl
    import os

    pool = fresh_pool()
    assert len(pool.workers) == 2 and all(w.ready.wait(30) for w in pool.workers)
    first, second = pool.workers
    assert first.proc is not None and first.pid == first.proc.pid
    assert second.proc is None and second.pid not in (os.getpid(), first.pid)
    assert _parent(second.pid) == first.pid
    assert pool.submit(("abort", None, "no-such-chunk"), second)[1].result(10) is None   # it answers
    if hasattr(fcntl, "F_GETPIPE_SZ"):   # both input pipes as wide as a user may make them (a page at once)
        with open("/proc/sys/fs/pipe-max-size") as fh:
            widest = int(fh.read())
        assert [fcntl.fcntl(w.stdin.fileno(), fcntl.F_GETPIPE_SZ) for w in pool.workers] == [widest, widest]
    pool.close()
    assert first.proc.returncode == 0 and _exited(second.pid)


def test_without_fork_every_worker_is_its_own_interpreter_and_writes_the_same_rows(net, tmp_path, monkeypatch,
                                                                                  fresh_pool):
    import os

    monkeypatch.setenv("HARVEST_FORK_WORKERS", "0")
    pool = fresh_pool()
    assert [w.index for w in pool.workers] == [0, 1]
    assert all(w.proc is not None and w.ready.wait(30) and _parent(w.pid) == os.getpid() for w in pool.workers)
    single = run_source(source(net, "ardc-rda"), tmp_path / "single", parse_workers=0)
    both = run_source(source(net, "ardc-rda"), tmp_path / "workers", parse_workers=2, chunk_rows=50)
    assert both.status == single.status == "complete" and single.records > 50
    for table in ("records", "raw"):
        assert rows(tmp_path / "workers", "ardc-rda", table) == rows(tmp_path / "single", "ardc-rda", table)
    assert pool is fresh_pool()   # the run used this pool


def test_a_sibling_that_cannot_be_forked_is_seen_to_exit_and_worker_0_goes_on(tmp_path):
    """fork() failing in worker 0 (no memory, process limit) costs that sibling only: its pipes are
    closed, so the harvester's reader sees it exit, and worker 0 carries on. Run in a subprocess:
    the function changes how the process treats SIGCHLD."""
    import subprocess
    import sys

    code = """
import os, sys
from harvest.records import worker as records
stdin_r, stdin_w = os.pipe()
stdout_r, stdout_w = os.pipe()
os.environ["HARVEST_WORKER_SIBLINGS"] = f"{stdin_r}:{stdout_w}"
def no_fork():
    raise OSError(11, "Resource temporarily unavailable")
os.fork = no_fork
records._fork_siblings()
print("eof" if os.read(stdout_r, 1) == b"" else "open", "env" if "HARVEST_WORKER_SIBLINGS" in os.environ else "-")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["eof", "-"]
    assert "could not fork a sibling worker: [Errno 11] Resource temporarily unavailable" in out.stderr


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_the_harvesting_process_loads_neither_pyarrow_nor_duckdb(net, tmp_path):
    """With parse workers the harvester only fetches and renames files: the Arrow, DuckDB and
    JSON Schema libraries (~100 MB between them) stay out of it, the validation report included."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    p = partner("ardc-rda")
    code = f"""
import json, sys
from harvest.config.sources import Source
from harvest.runs.pipeline import run_source
src = Source(id="ardc-rda", name="x", region={p.region!r}, endpoint={net.url_for("ardc-rda")!r},
             metadata_prefix={p.formats[0]!r}, window="none")
r = run_source(src, {str(tmp_path)!r}, parse_workers=2)
print(json.dumps([r.status, r.records, r.validation["live_records"],
                  sorted(m for m in ("pyarrow", "duckdb", "jsonschema", "pandas", "numpy") if m in sys.modules)]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    status, records, live, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == "complete" and records > 0 and live > 0
    assert loaded == []


def test_a_worker_trims_its_heap_after_a_chunk_only_once_it_has_grown_by_a_tenth():
    """In a fresh process set up as a worker's heap is: after a chunk that left 100 MB of freed
    blocks resident, the call after the chunk gives them back; after one that left a few MB (less
    than a tenth more than after the first chunk), the pages are kept for the next chunk."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = """
import json, os
import pyarrow.parquet   # a worker's libraries: its size after the first chunk
from harvest.records.worker import _heap_keeper
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page >> 20
def chunk(mb):   # rows built and freed: malloc'd blocks, touched
    blocks = [bytearray(4096) for _ in range(mb * 256)]
    del blocks
after_chunk = _heap_keeper()
after_chunk()                      # the first chunk: the size to compare with
base = rss()
chunk(4)
small = rss()
after_chunk()
kept = rss()
chunk(100)
big = rss()
after_chunk()
trimmed = rss()
chunk(base * 18 // 100)            # grown by more than a tenth, less than a quarter
mid = rss()
after_chunk()
print(json.dumps([base, small, kept, big, trimmed, mid, rss()]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    base, small, kept, big, trimmed, mid, mid_trimmed = json.loads(out.stdout)
    assert base > 45 and small - base >= 2 and small < base * 1.10
    assert kept >= small - 1               # not grown by a tenth: the freed pages stay for reuse
    assert big - base > 90 and trimmed - base < 10   # grown: given back
    assert mid > base * 1.12 and mid_trimmed < mid - base * 0.1   # by more than a tenth: given back too


def test_frames_carry_page_bodies_out_of_band_and_a_frame_cut_short_reads_as_the_end(tmp_path):
    """A page body wrapped in pickle.PickleBuffer is written after the message's pickle, from its
    own memory, and read back as bytes in its place; a stream that ends inside a frame (a peer
    that died mid-write) reads as the end, never as a message."""
    import io
    import pickle
    import struct

    from harvest.records.worker import read_frame, write_frame

    body = bytes(range(256)) * 5000
    stream = io.BytesIO()
    write_frame(stream, ("page", 7, "k", {"source_id": "s"}, pickle.PickleBuffer(body), "http://x"))
    write_frame(stream, (7, True, {"records": 3}))
    whole = stream.getvalue()
    pickled, buffers = struct.unpack_from("<QI", whole)
    assert pickled < 200 and buffers == 1   # the body is not in the pickle: it follows it as is
    assert whole.index(body) == struct.calcsize("<QI") + pickled + 8   # after the pickle and its length
    stream.seek(0)
    page = read_frame(stream)
    assert page[:4] == ("page", 7, "k", {"source_id": "s"}) and page[4] == body and page[5] == "http://x"
    assert read_frame(stream) == (7, True, {"records": 3}) and read_frame(stream) is None
    for cut in (5, 40, len(whole) - len(body) // 2, len(whole) - len(body) - 60):
        assert read_frame(io.BytesIO(whole[:cut])) is None, cut


def test_chunks_close_near_their_row_target_once_pages_are_estimated(tmp_path):
    """The harvester counts the rows of the first pages it sends and estimates the later ones from
    the bytes per row of the pages mapped so far: chunks still close at about chunk_rows (here
    every ~2 pages: 2 rows a record), neither one chunk for the whole list nor one a page."""
    big = replace(partner("eosc-zenodo"), id="big-zenodo", own_works=2000, page_size=50)
    with DemoNetwork(partners=(big,)) as network:
        src = Source(id=big.id, name=big.name, region=big.region, endpoint=network.url_for(big.id),
                     metadata_prefix=big.formats[0], window="none")
        report = run_source(src, tmp_path, chunk_rows=4 * big.page_size, parse_workers=2)
    assert report.status == "complete" and report.pages >= 40
    chunks = {re.search(r"-(\d{5})-\d\.parquet$", f).group(1) for f in report.files if f.startswith("records/")}
    expected = report.pages / 2
    assert 0.8 * expected <= len(chunks) <= 1.2 * expected + 1, (len(chunks), report.pages)


def test_parse_workers_load_neither_numpy_nor_pandas(net, tmp_path):
    """pyarrow loads numpy with itself and pandas on its first array when they are installed; the
    workers block both (they map, write Parquet and validate without them), so neither library
    is mapped into a worker after a harvest and its validation report."""
    from harvest.runs.pipeline import parse_pool

    report = run_source(source(net, "ardc-rda"), tmp_path, parse_workers=2)
    assert report.status == "complete" and report.validation["live_records"] > 0
    workers = [w for w in parse_pool().workers if not w.dead]
    assert len(workers) == 2
    for w in workers:
        with open(f"/proc/{w.pid}/maps") as fh:
            libraries = {line.split()[-1] for line in fh if line.rstrip().endswith(".so") or ".so." in line}
        assert any("pyarrow" in lib for lib in libraries)   # the check can see what a worker loaded
        assert not [lib for lib in libraries if "/numpy" in lib or "/pandas" in lib], w.pid
