"""Harvesting survives misbehaving partners: the demo network's fault injection, one behaviour per test.

Every expectation compares with what the partner really holds (the demo catalogue) or with an
undisturbed harvest of the same partner, so "survives" means "and got every record exactly once".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from harvest.clock import FakeClock
from harvest.config.sources import Politeness, Source
from harvest.demo import DemoNetwork
from harvest.demo.catalog import records_for
from harvest.demo.faults import Fault, parse_fault
from harvest.demo.partners import partner
from harvest.oai.datestamps import parse_utc
from harvest.runs.run import run_source
from harvest.store.datasets import read_committed
from harvest.store.state import load_state, save_state

FAST = Politeness(max_retries=4, max_retry_after_seconds=120, timeout_seconds=5)


@pytest.fixture(scope="module")
def net():
    with DemoNetwork() as network:
        yield network


@pytest.fixture(autouse=True)
def _healthy_again(net):
    yield
    net.reset()


def source(net, pid, *, window="none", politeness=FAST, **kw) -> Source:
    p = partner(pid)
    return Source(
        id=pid,
        name=p.name,
        region=p.region,
        endpoint=net.url_for(pid),
        metadata_prefix=p.formats[0],
        window=window,
        politeness=politeness,
        **kw,
    )


def harvested_ids(data, pid) -> list[str]:
    return sorted(
        read_committed(data, "records", pid).column("oai_identifier").to_pylist()
        + [q for q in read_committed(data, "quarantine", pid).column("oai_identifier").to_pylist() if q]
    )


def expected_ids(pid) -> list[str]:
    return sorted(r.oai_id for r in records_for(pid))


# ---- HTTP failures: retried with backoff, Retry-After honoured on an injectable clock -----------
@pytest.mark.parametrize(
    "fault, sleeps",
    [
        (Fault("status", status=503, retry_after="7", page=1, times=2), [7, 7]),
        (Fault("status", status=503, retry_after="99999", page=1), [120]),  # capped
        (Fault("status", status=429, retry_after="HTTP-DATE+42", page=2), [42]),  # the date form
        (Fault("status", status=500, page=1, times=3), None),  # a burst, backoff
        (Fault("status", status=502, page=0), None),
        (Fault("status", status=504, page=3), None),
        (Fault("reset", page=2, times=2), None),
        (Fault("cut", page=1, times=2), None),  # the body ends half-way
    ],
)
def test_transient_http_failures_are_retried(net, tmp_path, fault, sleeps):
    clock = FakeClock()
    if fault.retry_after == "HTTP-DATE+42":
        fault.retry_after = format_datetime(datetime.fromtimestamp(clock.now + 42, UTC), usegmt=True)
    net.inject("ardc-rda", fault)
    report = run_source(source(net, "ardc-rda"), tmp_path, clock=clock)
    assert report.status == "complete", report.errors
    assert report.retries == fault.times and harvested_ids(tmp_path, "ardc-rda") == expected_ids("ardc-rda")
    if sleeps is not None:
        assert clock.sleeps == sleeps
    else:  # exponential backoff with jitter: each wait within [0.5, 1.5] x 2^attempt seconds
        assert all(0.5 * 2**i <= s <= 1.5 * 2**i for i, s in enumerate(clock.sleeps))


def test_slow_responses_past_the_timeout_are_retried(net, tmp_path):
    net.inject("mosp-malaysia", Fault("slow", seconds=1.0, page=1))
    pol = Politeness(max_retries=2, timeout_seconds=0.3)
    report = run_source(source(net, "mosp-malaysia", politeness=pol), tmp_path, clock=FakeClock())
    assert report.status == "complete" and report.retries == 1
    assert any("Timeout" in w for w in report.warnings)
    assert harvested_ids(tmp_path, "mosp-malaysia") == expected_ids("mosp-malaysia")


def test_giving_up_fails_the_run_and_the_next_run_resumes(net, tmp_path):
    net.inject("lareferencia", Fault("status", status=503, page=4, times=None))
    src = source(net, "lareferencia", politeness=Politeness(max_retries=2))
    first = run_source(src, tmp_path, clock=FakeClock(), chunk_rows=1)
    assert first.status == "failed" and "HTTP 503" in first.errors[0] and "resumes" in first.errors[0]
    assert first.records == 4 * 50  # pages 0-3 kept, durable
    net.reset()
    second = run_source(src, tmp_path, clock=FakeClock(), chunk_rows=1)
    assert second.status == "complete" and second.resumed and second.run_id == first.run_id
    assert harvested_ids(tmp_path, "lareferencia") == expected_ids("lareferencia")


# ---- OAI-PMH error bodies, whatever the HTTP status ------------------------------------------
def test_oai_errors_sent_with_422_fail_with_the_code(net, tmp_path):
    net.inject("eosc-zenodo", Fault("oai_error", status=422, code="badArgument", page=0))
    report = run_source(source(net, "eosc-zenodo"), tmp_path)
    assert report.status == "failed" and "OAI-PMH error badArgument" in report.errors[0]


def test_no_records_match_with_422_is_an_empty_complete_window(net, tmp_path):
    net.inject("eosc-zenodo", Fault("oai_error", status=422, code="noRecordsMatch", page=0))
    report = run_source(source(net, "eosc-zenodo"), tmp_path)
    assert report.status == "complete" and report.records == 0


# ---- resumption tokens -----------------------------------------------------------------------
def test_an_expired_token_reruns_only_its_window_sliced_smaller(net, tmp_path):
    net.inject("cstcloud-sciencedb", Fault("expire_token", page=2))
    report = run_source(
        source(net, "cstcloud-sciencedb"),
        tmp_path,
        chunk_rows=1,
        from_="2015-01-01T00:00:00Z",
        until="2026-11-01T00:00:00Z",
    )
    assert report.status == "complete", report.errors
    assert any("badResumptionToken" in w and "two smaller windows" in w for w in report.warnings)
    assert harvested_ids(tmp_path, "cstcloud-sciencedb") == expected_ids("cstcloud-sciencedb")
    first, second = report.windows  # the one window, cut in two halves
    assert (first["from_"], second["until"]) == ("2015-01-01T00:00:00Z", "2026-11-01T00:00:00Z")
    assert second["from_"] == (parse_utc(first["until"]) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_repeated_token_stops_that_list_with_a_clear_error(net, tmp_path):
    net.inject("aosp-africa", Fault("repeat_token", page=3))
    report = run_source(source(net, "aosp-africa"), tmp_path)
    assert report.status == "partial"
    assert any("repeated resumptionToken" in e for e in report.errors)
    assert report.records + report.quarantined == 4 * 30  # pages 0-3, nothing lost


def test_a_token_cycle_stops_that_list_with_a_clear_error_and_keeps_each_record_once(net, tmp_path):
    """Page 3 hands back the token that asked for page 2 (A → B → A, five times over): the
    window ends at page 3 with an error naming the cycle; pages 0-3 are kept, none twice."""
    net.inject("aosp-africa", Fault("cycle_token", page=3, times=5))  # bounded: a regression fails, not hangs
    report = run_source(source(net, "aosp-africa"), tmp_path)
    assert report.status == "partial" and report.pages == 4
    assert any("cycle" in e and "resumptionToken" in e and "aosp-africa" in e for e in report.errors), report.errors
    assert report.records + report.quarantined == 4 * 30
    ids = read_committed(tmp_path, "raw", "aosp-africa").column("oai_identifier").to_pylist()
    assert len(ids) == len(set(ids)) == 4 * 30


def test_the_empty_final_token_ends_the_list(net, tmp_path):
    report = run_source(source(net, "mosp-malaysia"), tmp_path)
    assert report.status == "complete" and report.pages == -(-len(expected_ids("mosp-malaysia")) // 25)


def test_a_complete_list_size_shortfall_is_reported(net, tmp_path):
    net.inject("mosp-malaysia", Fault("inflate_size", page=None, times=None))
    report = run_source(source(net, "mosp-malaysia"), tmp_path)
    assert any("completeListSize" in w for w in report.warnings)


# ---- XML that cannot be trusted ---------------------------------------------------------------
def test_illegal_characters_are_removed_and_counted(net, tmp_path):
    net.inject("ardc-rda", Fault("illegal_chars", page=1), Fault("illegal_chars", page=5))
    report = run_source(source(net, "ardc-rda"), tmp_path)
    assert report.status == "complete" and report.illegal_chars_removed == 4


def test_a_12_mb_page_parses(net, tmp_path):
    net.inject("ardc-rda", Fault("big_page", page=2))
    report = run_source(source(net, "ardc-rda"), tmp_path)
    assert report.status == "complete" and report.bytes > 12 * 1024 * 1024
    assert harvested_ids(tmp_path, "ardc-rda") == expected_ids("ardc-rda")


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("xxe", "hostile_xml"),
        ("billion_laughs", "hostile_xml"),
        ("malformed", "malformed_xml"),
        ("undecodable", "undecodable"),
    ],
)
def test_an_unreadable_page_is_quarantined_and_the_list_goes_on(net, tmp_path, kind, reason):
    net.inject("aosp-africa", Fault(kind, page=2))
    report = run_source(source(net, "aosp-africa"), tmp_path)
    assert report.status == "partial" and reason in report.errors[0] and "page=" not in report.errors[0]
    quarantine = read_committed(tmp_path, "quarantine", "aosp-africa").to_pylist()
    page_rows = [q for q in quarantine if q["reason"] == reason]
    assert len(page_rows) == 1 and page_rows[0]["raw_xml"] and "resumptionToken" in page_rows[0]["page_url"]
    lost = set(expected_ids("aosp-africa")) - set(harvested_ids(tmp_path, "aosp-africa"))
    assert len(lost) == 30  # exactly that page's records, kept as raw bytes
    records = read_committed(tmp_path, "raw", "aosp-africa")
    assert not any(b"root:" in x for x in records.column("xml").to_pylist())  # no file was read


# ---- politeness -------------------------------------------------------------------------------
def test_the_delay_between_requests_is_honoured(net, tmp_path):
    clock = FakeClock()
    run_source(source(net, "mosp-malaysia", politeness=Politeness(delay_seconds=2.5)), tmp_path, clock=clock)
    assert clock.sleeps and all(s == pytest.approx(2.5) for s in clock.sleeps)


def test_concurrent_harvests_share_the_hosts_request_cap(net, tmp_path):
    from harvest.cli import run_sources

    net.inject("eosc-zenodo", *[Fault("slow", seconds=0.05, page=None, times=None)])
    net.inject("lareferencia", *[Fault("slow", seconds=0.05, page=None, times=None)])
    one_slot = Politeness(max_concurrency=1)
    # a host key of its own, so that other tests' clients do not share this semaphore
    sources = [
        Source(
            id=pid,
            name=pid,
            region=partner(pid).region,
            window="none",
            endpoint=net.url_for(pid).replace("127.0.0.1", "localhost"),
            metadata_prefix=partner(pid).formats[0],
            politeness=one_slot,
        )
        for pid in ("eosc-zenodo", "lareferencia")
    ]
    reports = run_sources(sources, tmp_path, workers=2)
    assert [r.status for r in reports] == ["complete", "complete"]
    assert net.max_in_flight == 1


# ---- deletions --------------------------------------------------------------------------------
def test_the_census_tombstones_records_that_vanished(net, tmp_path):
    pid = "mosp-malaysia"  # Identify says deletedRecord = no
    first = run_source(source(net, pid), tmp_path)
    assert first.census_tombstones == 0
    gone = tuple(expected_ids(pid)[:5])
    net.inject(pid, Fault("hide_records", ids=gone, verb=None))
    second = run_source(source(net, pid), tmp_path)
    assert second.status == "complete" and second.census_tombstones == 5
    import harvest
    from harvest.publish.snapshots import build_and_publish

    build_and_publish(tmp_path)
    held = {p["oai_identifier"] for w in harvest.read_index(tmp_path)["provenance"] for p in w}
    assert not held & set(gone) and len(held) > 100


def test_a_census_that_would_delete_most_records_is_refused(net, tmp_path):
    pid = "mosp-malaysia"
    run_source(source(net, pid), tmp_path)
    net.inject(pid, Fault("hide_records", ids=tuple(expected_ids(pid)), verb=None))
    report = run_source(source(net, pid), tmp_path)
    assert report.status == "failed" and "refusing to tombstone" in " ".join(report.errors)


def test_fault_specs_parse_from_the_command_line():
    pid, fault = parse_fault("eosc-zenodo:status,status=429,retry_after=5,page=2,times=always")
    assert pid == "eosc-zenodo" and (fault.kind, fault.status, fault.page, fault.times) == ("status", 429, 2, None)
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault("eosc-zenodo:explode")


@pytest.mark.parametrize(
    "said, why",
    [
        ("not-a-date", "not a date"),
        ("2999-01-01T00:00:00Z", "later than our clock"),
        ("1850-01-01T00:00:00Z", "before 1900"),
    ],
)
def test_a_response_date_that_cannot_be_trusted_never_becomes_the_watermark(net, tmp_path, said, why):
    """Identify's responseDate is data: a bad one is replaced by our clock, with a warning naming
    the source and the value; the next run is incremental from that watermark and works."""
    net.inject("mosp-malaysia", Fault("response_date", verb="Identify", value=said))
    before = datetime.now(UTC).replace(microsecond=0)
    first = run_source(source(net, "mosp-malaysia"), tmp_path)
    assert first.status == "complete" and first.records + first.quarantined == len(expected_ids("mosp-malaysia"))
    assert any("mosp-malaysia" in w and repr(said) in w and why in w for w in first.warnings), first.warnings
    watermark = parse_utc(load_state(tmp_path, "mosp-malaysia").watermark)
    assert before <= watermark <= datetime.now(UTC)
    second = run_source(source(net, "mosp-malaysia"), tmp_path)
    assert second.status == "complete" and not any(why in w for w in second.warnings)


def test_a_stored_watermark_that_is_not_a_date_means_a_harvest_from_the_beginning(net, tmp_path):
    run_source(source(net, "mosp-malaysia"), tmp_path)
    state = load_state(tmp_path, "mosp-malaysia")
    state.watermark = "yesterday-ish"
    save_state(tmp_path, state)
    report = run_source(source(net, "mosp-malaysia"), tmp_path)
    assert report.status == "complete", report.errors
    assert report.records + report.quarantined == len(expected_ids("mosp-malaysia"))  # all of it again
    assert any("stored watermark 'yesterday-ish' is not a date" in w for w in report.warnings), report.warnings
