"""A build killed at any moment leaves the current index intact; readers never see a mix."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pyarrow.parquet as pq

from harvest.publish.snapshots import build_and_publish, current_snapshot, snapshots
from harvest.runs.run import run_source

BUILD_FOREVER = """
import sys
from harvest.publish.snapshots import build_and_publish
while True:
    build_and_publish(sys.argv[1], keep=3)
"""


def read_consistently(data) -> tuple[str, int]:
    """What a reader does: resolve CURRENT once, then read that snapshot; check it is whole."""
    snap = current_snapshot(data)
    manifest = json.loads((snap / "manifest.json").read_text())
    rows = sum(pq.read_metadata(snap / f).num_rows for f in manifest["files"])
    assert rows == manifest["works"], (snap.name, rows, manifest["works"])
    for f, digest in manifest["checksums"].items():
        assert digest == "sha256:" + hashlib.sha256((snap / f).read_bytes()).hexdigest(), (snap.name, f)
    return snap.name, rows


def test_kill_during_build_and_publish(demo_sources, tmp_path):
    for src in demo_sources:
        run_source(src, tmp_path)
    first = build_and_publish(tmp_path)
    seen, failures, stop = set(), [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.add(read_consistently(tmp_path))
            except FileNotFoundError:
                pass  # a snapshot pruned between resolving and reading: readers retry
            except AssertionError as exc:
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for delay in (0.0, 0.05, 0.1, 0.2, 0.3):
            proc = subprocess.Popen([sys.executable, "-c", BUILD_FOREVER, str(tmp_path)])
            before, deadline = current_snapshot(tmp_path).name, time.monotonic() + 60
            while current_snapshot(tmp_path).name == before:  # one build published: the next is under way
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.01)
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            name, rows = read_consistently(tmp_path)  # the current index is intact after every kill
            assert rows == first["works"]
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:3]
    assert len({name for name, _ in seen}) >= 2  # readers did see snapshots switch
    after = build_and_publish(tmp_path)  # and building again just works
    assert after["checksums"] == first["checksums"] or after["works"] == first["works"]
    assert not list((tmp_path / "index").glob(".building-*"))
    assert len(snapshots(tmp_path)) <= 4
