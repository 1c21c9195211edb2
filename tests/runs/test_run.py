"""Harvesting a source end to end against servers on 127.0.0.1, into real Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvest.config.schemas import arrow_schema
from harvest.config.sources import Politeness, Source
from harvest.demo.catalog import records_for
from harvest.demo.partners import partner
from harvest.demo.provider import Provider
from harvest.oai.page import parse_page
from harvest.runs.run import run_source
from harvest.store.datasets import committed_files, read_committed
from harvest.store.state import load_state
from tests.oai.scripted_server import ScriptedServer


def test_every_demo_record_lands_once_in_records_or_quarantine(demo_sources, tmp_path):
    for src in demo_sources:
        report = run_source(src, tmp_path)
        expected = records_for(src.id)
        assert report.status == "complete", report.errors
        assert report.records + report.quarantined == len(expected)
        assert report.deleted == sum(r.deleted for r in expected)
        records = read_committed(tmp_path, "records", src.id)
        raw = read_committed(tmp_path, "raw", src.id)
        assert records.num_rows == report.records
        assert raw.num_rows == report.records + report.quarantined  # quarantined records keep their XML
        assert records.schema.equals(arrow_schema("records", with_partitions=False), check_metadata=False)
        ids = records.column("oai_identifier").to_pylist()
        assert len(set(ids)) == len(ids)
        saved = json.loads((tmp_path / "runs" / src.id / f"{report.run_id}.json").read_text())
        assert saved["records"] == report.records and saved["status"] == "complete"


def test_quarantine_keeps_reason_and_raw_xml(demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "aosp-africa")
    report = run_source(src, tmp_path)
    assert report.quarantined == 2
    table = read_committed(tmp_path, "quarantine", src.id).to_pylist()
    assert {q["reason"] for q in table} == {"missing_title"}
    assert all(
        q["oai_identifier"] and b"<header>" in q["raw_xml"] and "verb=ListRecords" in q["page_url"] for q in table
    )


def test_second_run_is_incremental_from_the_servers_watermark(demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "ardc-rda")  # day granularity
    first = run_source(src, tmp_path)
    state = load_state(tmp_path, src.id)
    assert state.watermark == first.watermark_after and state.granularity == "YYYY-MM-DD"
    second = run_source(src, tmp_path)
    assert second.windows[0]["from_"] == state.next_from("YYYY-MM-DD")
    assert len(second.windows[0]["from_"]) == 10  # sent in the server's granularity
    assert second.status == "complete" and second.records == 0  # nothing changed since
    assert second.watermark_before == first.watermark_after


def test_full_reharvest_replaces_earlier_files(demo_sources, tmp_path):
    src = next(s for s in demo_sources if s.id == "mosp-malaysia")
    first = run_source(src, tmp_path)
    second = run_source(src, tmp_path, full=True)
    files = committed_files(tmp_path, "records", src.id)
    assert files and all(second.run_id in f for f in files)
    assert read_committed(tmp_path, "records", src.id).num_rows == first.records == second.records


def _scripted_pages(partner_id: str, broken_at: int | None) -> list:
    """Identify + ListRecords pages rendered by the demo provider, with page `broken_at` (if any)
    cut short."""
    provider = Provider(partner(partner_id), "http://127.0.0.1/oai", page_size=20)
    script = [(200, {}, provider.handle({"verb": ["Identify"]})[1])]
    args = {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]}
    while True:
        body = provider.handle(args)[1]
        script.append((200, {}, body))
        token = parse_page(body, "scripted").token
        if not token:
            break
        args = {"verb": ["ListRecords"], "resumptionToken": [token]}
    if broken_at is not None:
        status, headers, body = script[broken_at]
        script[broken_at] = (status, headers, body[: len(body) // 2])
    return script


def test_a_malformed_page_is_quarantined_and_the_run_marked_partial(tmp_path):
    script = _scripted_pages("mosp-malaysia", broken_at=3)
    with ScriptedServer(script) as srv:
        src = Source(
            id="flaky", name="Flaky", region="malaysia", endpoint=srv.url, metadata_prefix="oai_dc", window="none"
        )
        report = run_source(src, tmp_path)
    assert report.status == "partial"
    assert report.pages == 3 and report.records + report.quarantined == 40 + 1  # the broken page counts
    assert any("malformed_xml" in e and srv.url in e for e in report.errors)
    rows = read_committed(tmp_path, "quarantine", "flaky").to_pylist()
    page_rows = [r for r in rows if r["reason"] == "malformed_xml"]
    assert len(page_rows) == 1 and "resumptionToken=" in page_rows[0]["page_url"]
    assert load_state(tmp_path, "flaky").watermark is None  # not advanced: next run re-reads
    assert committed_files(tmp_path, "records", "flaky")  # what was read is kept


@pytest.mark.parametrize("workers", [0, 2])
def test_a_connection_that_drops_mid_page_is_retried_and_then_fails_the_run_by_name(tmp_path, workers):
    """Once: the page is asked again and the run completes. Every time: the run fails naming the
    source, the request and the reason (not a stray requests exception), and the next run resumes."""
    identify, *steps = _scripted_pages("mosp-malaysia", broken_at=None)
    pages = [body for _, _, body in steps]
    once = [identify, (200, {}, pages[0]), ("cut", pages[1], 300), *[(200, {}, p) for p in pages[1:]]]
    polite = Politeness(max_retries=2, max_retry_after_seconds=0)
    with ScriptedServer(once) as srv:
        src = Source(
            id="cut",
            name="Cut",
            region="malaysia",
            endpoint=srv.url,
            metadata_prefix="oai_dc",
            window="none",
            deletion_census="never",
            politeness=polite,
        )
        report = run_source(src, tmp_path / "once", parse_workers=workers)
    assert report.status == "complete" and report.retries == 1, report.errors
    assert report.records + report.quarantined == sum(len(parse_page(p, "x").items) for p in pages)
    always = [identify, (200, {}, pages[0]), *[("cut", pages[1], 300)] * 3]
    with ScriptedServer(always) as srv:
        src = Source(
            id="cut",
            name="Cut",
            region="malaysia",
            endpoint=srv.url,
            metadata_prefix="oai_dc",
            window="none",
            deletion_census="never",
            politeness=polite,
        )
        report = run_source(src, tmp_path / "always", parse_workers=workers)
    assert report.status == "failed"
    assert "[cut]" in report.errors[0] and "resumptionToken=" in report.errors[0]
    assert "3 attempt(s)" in report.errors[0] and "IncompleteRead" in report.errors[0]
    assert load_state(tmp_path / "always", "cut").in_progress is not None  # the next run resumes


def test_a_server_that_keeps_failing_fails_the_run_loudly(tmp_path):
    with ScriptedServer([(503, {"Retry-After": "0"}, b"")] * 10) as srv:
        src = Source(
            id="down",
            name="Down",
            region="africa",
            endpoint=srv.url,
            metadata_prefix="oai_dc",
            window="none",
            politeness=Politeness(max_retries=2, max_retry_after_seconds=0),
        )
        report = run_source(src, tmp_path)
    assert report.status == "failed" and report.retries == 2
    assert "verb=Identify" in report.errors[0] and "HTTP 503" in report.errors[0]
    assert load_state(tmp_path, "down").last_status == "failed"
    assert (Path(tmp_path) / "runs" / "down" / f"{report.run_id}.json").exists()
