"""Harvest throughput side by side, same pages from the same server process, one run:
(a) HTTP fetch only, (b) fetch + lean lxml (bench/lean.py: generic field extraction, and (b0) a
stricter floor of two fields), (c) the naive sickle loop → pandas → Parquet, (d) ours, for oai_dc,
DataCite, and oai_dc again with abstracts as long as Zenodo's (the bench's own records carry one
short sentence each; `harvest.demo.catalog.long_abstract`); (e) four partners with 50 ms page
latency, one after another versus concurrently. Each is run `repeats` times in interleaved rounds
(a, b, b0, c, d, a, b, ...) and reported by its median run.

Every method counts the records on the pages it read, deleted ones included (the naive loop skips
their metadata but reads them, as the others do), so records/s compare the same work.

Memory of (d) covers the harvesting process and its parse workers: `rss_mb` adds the harvester's
peak RSS to each worker's (an upper bound: the libraries they share are counted in every process),
`pss_mb` is the peak of their summed proportional set size (shared pages counted once), sampled
every 50 ms; `harvester_pss_mb` and `worker_pss_mb` are the peaks of the harvester's and of the
largest worker's own PSS (not necessarily at the same moment). Reading PSS costs the kernel a walk
of every process's page tables (~5 % of a harvest's throughput at one sample per 50 ms), so PSS
is sampled in a run of its own after the timed ones: the timed runs carry only the kernel's own
peak RSS, which costs nothing to read."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FETCH = """
import re, sys, time, resource, requests
url, prefix = sys.argv[1], sys.argv[2]
tok = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")
s = requests.Session(); t0 = time.perf_counter(); n = nbytes = 0
params = {"verb": "ListRecords", "metadataPrefix": prefix}
while True:
    body = s.get(url, params=params).content; nbytes += len(body); n += body.count(b"<record>")
    m = tok.search(body)
    if not m: break
    params = {"verb": "ListRecords", "resumptionToken": m.group(1).decode()}
print(json.dumps({"records": n, "seconds": time.perf_counter() - t0, "bytes": nbytes,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

LEAN = """
import sys, time, resource, requests
from lxml import etree
from bench.lean import generic_fields, two_fields
url, prefix, how = sys.argv[1], sys.argv[2], sys.argv[3]
extract = generic_fields if how == "generic" else two_fields
O = "{http://www.openarchives.org/OAI/2.0/}"
s = requests.Session(); t0 = time.perf_counter(); n = nbytes = 0
params = {"verb": "ListRecords", "metadataPrefix": prefix}
while True:
    body = s.get(url, params=params).content; nbytes += len(body)
    root = etree.fromstring(body)
    n += len(extract(root))
    t = root.findtext(f".//{O}resumptionToken")
    if not t: break
    params = {"verb": "ListRecords", "resumptionToken": t}
print(json.dumps({"records": n, "seconds": time.perf_counter() - t0, "bytes": nbytes,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NAIVE = """
import sys, time, resource, tempfile
import pandas as pd
from sickle import Sickle
url, prefix = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
records, rows = 0, []
for r in Sickle(url).ListRecords(metadataPrefix=prefix):   # each record freed as the loop moves on
    records += 1
    if not r.deleted:
        rows.append(dict(r.metadata, identifier_oai=r.header.identifier))
df = pd.DataFrame(rows).astype(str)
with tempfile.TemporaryDirectory() as tmp:
    df.to_parquet(tmp + "/naive.parquet")
print(json.dumps({"records": records, "seconds": time.perf_counter() - t0, "rows": len(rows),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS = """
import sys, time, resource, tempfile
from harvest.config import Source
from harvest.runs.run import run_source
url, prefix, sample_pss = sys.argv[1], sys.argv[2], sys.argv[3:] == ["pss"]
src = Source(id="bench", name="bench", region="europe", endpoint=url, metadata_prefix=prefix, window="none",
             deletion_census="never")
import os, threading
from harvest.runs import pool as P
peak = {"pss": 0.0, "harvester": 0.0, "workers": 0.0}
def status(pid, key):   # a field of /proc/<pid>/status in MB (VmHWM: the process's peak RSS)
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith(key + ":")) / 1024
    except (OSError, StopIteration):
        return 0.0
def descendants():   # the parse workers and the forkserver they are forked from
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except OSError:
                pass
    out, todo = [], [os.getpid()]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out
def pss(pid):   # proportional set size: pages shared between the processes are counted once in all
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("Pss:")) / 1024
    except (OSError, StopIteration):
        return 0.0
def sample():
    while not done.is_set():
        own, workers = pss(os.getpid()), [pss(pid) for pid in descendants()]
        peak["pss"] = max(peak["pss"], own + sum(workers))
        peak["harvester"] = max(peak["harvester"], own)
        peak["workers"] = max([peak["workers"], *workers])
        done.wait(0.05)
done = threading.Event()
if sample_pss:
    threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
out = tempfile.TemporaryDirectory()   # removed at exit, after the timing
r = run_source(src, out.name)
assert r.status == "complete", r.errors
seconds = time.perf_counter() - t0
done.set()
others = descendants()
workers = len(P._POOL.pids()) if P._POOL else 0
child = {pid: status(pid, "VmHWM") for pid in others}   # peak RSS of every process the harvest started
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
pss_fields = {"pss_mb": peak["pss"], "harvester_pss_mb": peak["harvester"], "worker_pss_mb": peak["workers"]}
print(json.dumps({"records": r.records + r.quarantined, "seconds": seconds, "bytes": r.bytes,
                  "rss_mb": own + sum(child.values()), "harvester_rss_mb": own,
                  "worker_rss_mb": max(child.values(), default=0.0),
                  **(pss_fields if sample_pss else {}), "parse_workers": workers}))
"""

CONCURRENT = """
import sys, time, tempfile
from harvest.config.sources import Source
from harvest.cli import run_sources
import harvest.runs.run   # imported before the timing, as (a)-(d) import theirs (run_sources imports it on first use)
urls, prefix, workers = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
sources = [Source(id=f"b{i}", name="b", region="europe", endpoint=u, metadata_prefix=prefix, window="none",
                  deletion_census="never") for i, u in enumerate(urls)]
t0 = time.perf_counter()
out = tempfile.TemporaryDirectory()   # removed at exit, after the timing
reports = run_sources(sources, out.name, workers=workers)
assert all(r.status == "complete" for r in reports)
print(json.dumps({"records": sum(r.records for r in reports), "seconds": time.perf_counter() - t0}))
"""


@contextmanager
def served(n: int, fmt: str, latency: float = 0.0, page_size: int = 500, long_abstracts: bool = False):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.server",
            str(n),
            fmt,
            str(latency),
            str(page_size),
            "long" if long_abstracts else "short",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


def measure(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )  # the scripts import harvest, bench
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rec_per_s"] = round(result["records"] / result["seconds"])
    if "bytes" in result:
        result["mb_per_s"] = round(result["bytes"] / 1e6 / result["seconds"], 1)
    return result


def with_pss(timed: dict, sampled: dict) -> None:
    """Add the PSS peaks of the sampled run to a timed run's figures, with the sampled run's own
    speed beside them (it is not one of the timed runs)."""
    timed.update({k: v for k, v in sampled.items() if "pss" in k})
    timed["pss_run_rec_per_s"] = sampled["rec_per_s"]


def median_of(runs: list[dict]) -> dict:
    """The run of median time (each method runs `repeats` times, interleaved with the others, so a
    slow minute of the shared machine does not land on one method only), with every run's
    seconds and, for ours, every run's peak PSS beside it."""
    out = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])
    out["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    return out


def run(n: int = 100_000, big: int | None = 1_000_000, naive: bool = True, repeats: int = 3) -> dict:
    results: dict = {}
    # oai_dc_long_abstracts: the oai_dc records again, with abstracts as long as Zenodo's (the
    # bench's own records carry one short sentence: ~1 kB a record against ~2 kB)
    for key in ("oai_dc", "oai_datacite", "oai_dc_long_abstracts"):
        fmt, long_abstracts = key.removesuffix("_long_abstracts"), key.endswith("_long_abstracts")
        methods = {
            "a_fetch": (FETCH,),
            "b_fetch_lean_lxml": (LEAN, "generic"),
            "b0_fetch_two_fields_lxml": (LEAN, "two"),
        }
        if naive:
            methods["c_naive_sickle_pandas"] = (NAIVE,)
        methods["d_ours"] = (OURS,)
        runs: dict[str, list] = {name: [] for name in methods}
        with served(n, fmt, long_abstracts=long_abstracts) as url:
            measure(FETCH, url, fmt)  # warm the server's page cache: every method then reads the same pages
            for _ in range(repeats):
                for name, (code, *extra) in methods.items():
                    runs[name].append(measure(code, url, fmt, *extra))
            memory = measure(OURS, url, fmt, "pss")  # untimed: PSS sampling slows what it watches
        row = {name: median_of(r) for name, r in runs.items()}
        with_pss(row["d_ours"], memory)
        one_size = big if not long_abstracts else None  # 1 M once, with the bench's own records
        if one_size:
            with served(one_size, fmt) as url:
                measure(FETCH, url, fmt)
                row["d_ours_big"] = measure(OURS, url, fmt)
                with_pss(row["d_ours_big"], measure(OURS, url, fmt, "pss"))
        d = row["d_ours"]["rec_per_s"]
        row["ratios"] = {
            "ours_vs_lean": round(d / row["b_fetch_lean_lxml"]["rec_per_s"], 2),
            "ours_vs_two_fields": round(d / row["b0_fetch_two_fields_lxml"]["rec_per_s"], 2),
        }
        if naive:
            row["ratios"]["ours_vs_naive"] = round(d / row["c_naive_sickle_pandas"]["rec_per_s"], 2)
            # the same ratio run by run (the runs of one round were taken within a minute)
            row["ratios"]["ours_vs_naive_by_round"] = [
                round(c["seconds"] / o["seconds"] * o["records"] / c["records"], 2)
                for c, o in zip(runs["c_naive_sickle_pandas"], runs["d_ours"])
            ]
        if one_size:
            row["ratios"]["rss_big_vs_small"] = round(row["d_ours_big"]["rss_mb"] / row["d_ours"]["rss_mb"], 2)
            row["ratios"]["pss_big_vs_small"] = round(row["d_ours_big"]["pss_mb"] / row["d_ours"]["pss_mb"], 2)
        results[key] = row
    results["e_four_partners_50ms"] = four_partners(repeats=repeats)  # 500 records a page: the headline figure
    # the same records at 100 a page (DSpace's default page size): more of the run is waiting
    results["e_four_partners_50ms_100_per_page"] = four_partners(page_size=100, repeats=repeats)
    return results


def four_partners(n: int = 5000, page_size: int = 500, repeats: int = 1) -> dict:
    """Four partners of `n` oai_dc records each, every page delayed 50 ms, harvested one after
    another and then concurrently (one thread per source, one parse pool); `repeats` rounds of
    both, the median of each."""
    servers = [served(n, "oai_dc", 0.05, page_size) for _ in range(4)]
    urls = [s.__enter__() for s in servers]
    one_by_one, together = [], []
    try:
        with ThreadPoolExecutor(4) as pool:  # warm the servers' record caches: both runs read the same pages
            list(pool.map(lambda url: measure(FETCH, url, "oai_dc"), urls))
        for _ in range(repeats):
            one_by_one.append(measure(CONCURRENT, ",".join(urls), "oai_dc", "1")["seconds"])
            together.append(measure(CONCURRENT, ",".join(urls), "oai_dc", "4")["seconds"])
    finally:
        for s in servers:
            s.__exit__(None, None, None)
    seq, conc = sorted(one_by_one)[repeats // 2], sorted(together)[repeats // 2]
    return {
        "records_per_page": page_size,
        "pages_per_partner": -(-n // page_size),
        "one_after_another_s": round(seq, 2),
        "concurrent_s": round(conc, 2),
        "speedup": round(seq / conc, 2),
        "runs_one_after_another_s": [round(x, 3) for x in one_by_one],
        "runs_concurrent_s": [round(x, 3) for x in together],
    }


if __name__ == "__main__":
    print(
        json.dumps(run(n=int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, big=None, naive=True, repeats=1), indent=2)
    )
