"""Parse workers (harvest.runs.pool): the same rows, counts and errors as mapping in the
harvesting process, on the same pages, broken ones included; a dead or hung worker costs nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from harvest.config.sources import Politeness, Source
from harvest.demo import DemoNetwork
from harvest.demo.faults import Fault
from harvest.demo.partners import partner
from harvest.records.pages import PageSpec, map_body
from harvest.records.rows import Lineage
from harvest.runs import pool as pool_module
from harvest.runs.pool import close_pool, parse_pool
from harvest.runs.run import run_source
from harvest.store.datasets import read_committed

VOLATILE = {"run_id", "harvested_at", "quarantined_at", "page_url"}  # differ from run to run


@pytest.fixture(scope="module")
def net():
    with DemoNetwork() as network:
        yield network


def source(net, pid, **kw) -> Source:
    p = partner(pid)
    return Source(
        id=pid,
        name=p.name,
        region=p.region,
        endpoint=net.url_for(pid),
        metadata_prefix=p.formats[0],
        window=kw.pop("window", "none"),
        politeness=Politeness(max_retries=2, max_retry_after_seconds=0),
        **kw,
    )


def rows(data, pid, table) -> list[tuple]:
    out = []
    for row in read_committed(data, table, pid).to_pylist():
        if table == "quarantine":
            assert row["page_url"] and "verb=ListRecords" in row["page_url"]
            if row["oai_identifier"] is None:  # a whole page: its bytes hold a responseDate and tokens
                assert row["raw_xml"].lstrip().startswith(b"<")
                row["raw_xml"] = len(row["raw_xml"]) // 100
        out.append(tuple(sorted((k, repr(v)) for k, v in row.items() if k not in VOLATILE)))
    return sorted(out)


def summary(report) -> dict:
    return {
        "status": report.status,
        "pages": report.pages,
        "records": report.records,
        "deleted": report.deleted,
        "quarantined": report.quarantined,
        "illegal": report.illegal_chars_removed,
        "errors": [_stable(e) for e in report.errors],
        "windows": [(w["status"], w["records"], w["quarantined"], w["listed"]) for w in report.windows],
        "validation": report.validation,
    }  # computed in a parse worker, or here with parse_workers=0


def _stable(message: str) -> str:
    """An error message without what differs between two runs: URLs, window ends, tokens (which
    carry the time of the list's first request)."""


SCENARIOS = [
    ("aosp-africa", ()),  # two unmappable records
    ("aosp-africa", (Fault("malformed", page=2),)),  # unreadable page, list goes on
    ("aosp-africa", (Fault("xxe", page=1),)),
    ("ardc-rda", (Fault("illegal_chars", page=1),)),
    ("eosc-zenodo", (Fault("expire_token", page=2),)),  # badResumptionToken: window redone
    ("lareferencia", (Fault("repeat_token", page=2),)),  # the list stops with an error
    ("mosp-malaysia", (Fault("status", status=503, page=3, times=None),)),  # fails; resumes later
]


@pytest.mark.parametrize(
    "pid, faults", SCENARIOS, ids=[f"{p}-{'+'.join(f.kind for f in fs) or 'clean'}" for p, fs in SCENARIOS]
)
def test_workers_write_what_the_single_process_path_writes(net, tmp_path, pid, faults):
    reports = {}
    for workers in (0, 2):
        net.reset()
        net.inject(pid, *(replace(f, fired=0) for f in faults))  # each fault fires afresh
        reports[workers] = run_source(source(net, pid), tmp_path / str(workers), chunk_rows=40, parse_workers=workers)
    net.reset()
    assert summary(reports[0]) == summary(reports[2])
    for table in ("records", "raw", "quarantine"):
        assert rows(tmp_path / "0", pid, table) == rows(tmp_path / "2", pid, table), table
    assert reports[2].records + reports[2].quarantined > 0
    assert [re.sub(r"\d{8}T\d{6}Z-[0-9a-f]+", "<run>", f) for f in reports[0].files] == [
        re.sub(r"\d{8}T\d{6}Z-[0-9a-f]+", "<run>", f) for f in reports[2].files
    ]  # the same chunks
    assert not list((tmp_path / "2").rglob(".part-*.tmp"))


def test_a_resumed_run_gives_the_same_rows_with_workers(net, tmp_path):
    net.inject("mosp-malaysia", Fault("status", status=503, page=3, times=None))
    first = run_source(source(net, "mosp-malaysia"), tmp_path, chunk_rows=1, parse_workers=2)
    assert first.status == "failed" and first.records > 0
    net.reset()
    second = run_source(source(net, "mosp-malaysia"), tmp_path, chunk_rows=1, parse_workers=2)
    assert second.resumed and second.status == "complete"
    run_source(source(net, "mosp-malaysia"), tmp_path / "whole", parse_workers=0)
    assert rows(tmp_path, "mosp-malaysia", "records") == rows(tmp_path / "whole", "mosp-malaysia", "records")


@pytest.mark.parametrize("workers", [0, 2])
def test_a_chunk_that_cannot_be_written_fails_the_run_by_name_and_it_resumes(net, tmp_path, workers):
    """A worker that cannot write its files (here the records folder is a file) fails the run with
    a message that says so; nothing half-written stays, and once the folder is fixed the run
    resumes and writes every record once."""
    (tmp_path / "records").write_text("not a folder")
    first = run_source(source(net, "ardc-rda"), tmp_path, chunk_rows=20, parse_workers=workers)
    assert first.status == "failed"
    assert any("[ardc-rda] could not write chunk" in e and "run again" in e for e in first.errors), first.errors
    assert not list(tmp_path.rglob(".part-*.tmp"))
    (tmp_path / "records").unlink()
    again = run_source(source(net, "ardc-rda"), tmp_path, chunk_rows=20, parse_workers=workers)
    assert again.resumed and again.status == "complete", again.errors
    run_source(source(net, "ardc-rda"), tmp_path / "whole", parse_workers=0)
    assert rows(tmp_path, "ardc-rda", "records") == rows(tmp_path / "whole", "ardc-rda", "records")


@pytest.fixture
def fresh_pool():
    """A new parse pool for the test, closed afterwards: a test that kills workers leaves none
    behind for the next."""
    close_pool()
    yield parse_pool
    close_pool()


def _exited(pid: int, timeout: float = 10.0) -> bool:
    """The process is gone or a zombie within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between open and read
            return True
        time.sleep(0.05)
    return False


def _whole_and_run(net, tmp_path, act, **kw):
    """A clean run of eosc-zenodo in one process, and one with workers in which `act(pid)` is done to
    every parse worker once the first part is committed."""
    whole = run_source(source(net, "eosc-zenodo"), tmp_path / "whole", parse_workers=0)
    done = []

    def once(report, seconds):
        if not done and report.records:
            pids = parse_pool().pids()
            assert pids and os.getpid() not in pids
            for pid in pids:
                act(pid)
            done.extend(pids)

    first = run_source(
        source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, progress=once, parse_workers=2, **kw
    )
    assert done and whole.records > 100
    return first, done


def _same_as_whole(tmp_path):
    for table in ("records", "raw"):
        assert rows(tmp_path / "run", "eosc-zenodo", table) == rows(tmp_path / "whole", "eosc-zenodo", table)
    assert not list((tmp_path / "run").rglob(".part-*.tmp"))


def test_parse_workers_killed_mid_run_lose_nothing(net, tmp_path, fresh_pool):
    """SIGKILL the parse workers while pages are in flight: the run fails naming it, and the resumed
    run, on a new pool, writes every record exactly once."""
    first, pids = _whole_and_run(net, tmp_path, lambda pid: os.kill(pid, signal.SIGKILL))
    assert all(_exited(pid) for pid in pids)
    assert first.status == "failed" and "a parse worker died" in " ".join(first.errors), first.errors
    again = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, parse_workers=2)
    assert again.resumed and again.status == "complete", again.errors
    _same_as_whole(tmp_path)


def test_hung_parse_workers_are_stopped_and_the_run_resumes_without_losses(net, tmp_path, monkeypatch, fresh_pool):
    """SIGSTOP the parse workers mid-run (alive, never answering): after the timeout they are
    killed, the run fails naming the hang, and the resumed run writes every record exactly once."""
    monkeypatch.setattr(pool_module, "WORKER_TIMEOUT_S", 1.0)
    first, pids = _whole_and_run(net, tmp_path, lambda pid: os.kill(pid, signal.SIGSTOP))
    assert all(_exited(pid) for pid in pids)
    assert first.status == "failed" and "gave no answer in 1 s (hung)" in " ".join(first.errors), first.errors
    again = run_source(source(net, "eosc-zenodo"), tmp_path / "run", chunk_rows=20, parse_workers=2)
    assert again.resumed and again.status == "complete", again.errors
    _same_as_whole(tmp_path)


def test_the_workers_exit_when_the_pool_closes_even_a_stopped_one(net, tmp_path, fresh_pool):
    report = run_source(source(net, "ardc-rda"), tmp_path, parse_workers=2)
    assert report.status == "complete"
    pids = parse_pool().pids()  # started as parts came: one or two
    assert pids and os.getpid() not in pids
    os.kill(pids[0], signal.SIGSTOP)
    parse_pool().close(grace=1.0)
    assert all(_exited(pid) for pid in pids)


def test_the_workers_exit_when_the_harvesting_process_is_killed(net, tmp_path):
    """A harvester killed by SIGKILL never shuts its pool down: its workers notice and leave."""
    code = (
        "import os, sys, time\n"
        "from harvest.runs.pool import parse_pool\n"
        "pool = parse_pool(2)\n"
        "futures = [pool.executor.submit(os.getpid) for _ in range(8)]\n"
        "print(' '.join(map(str, sorted(set(f.result() for f in futures)))), flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as proc:
        try:
            pids = [int(p) for p in proc.stdout.readline().split()]
            assert pids and proc.pid not in pids and all(not _exited(pid, 0.1) for pid in pids)
        finally:
            proc.kill()
    assert all(_exited(pid, 15) for pid in pids)


def test_a_page_that_the_workers_cannot_map_becomes_a_quarantine_row_not_a_lost_page(tmp_path):
    """The worker's task on bytes that do not parse (the harvester never sends such a page, but a
    worker must not lose one): one quarantine row with the page's bytes and reason."""
    lin = Lineage("s", "europe", "oai_dc", "r", datetime(2026, 1, 1, tzinfo=UTC), "v")
    tables = map_body(PageSpec("s", "oai_dc", lin), b"<OAI-PMH><unclosed>", "http://127.0.0.1/oai?verb=ListRecords")
    assert tables.quarantined == 1 and set(tables.tables) == {"quarantine"}
    row = tables.tables["quarantine"].to_pylist()[0]
    assert row["reason"] == "malformed_xml" and row["raw_xml"] == b"<OAI-PMH><unclosed>"
