"""Harvesting recorded Zenodo traffic (oaipmh-scythe's vcrpy cassettes) replayed on 127.0.0.1,
so the harvester meets Zenodo's real pages and its OAI errors sent with HTTP 422."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from harvest.config.sources import Source
from harvest.runs.run import run_source
from harvest.store.datasets import committed_files
from tests.conftest import DATA
from tests.interop.replay_server import ReplayServer

CASSETTES = [DATA / "interop" / f"{name}.yaml" for name in ("identify", "list_records", "list_identifiers")]
# The one complete recorded ListRecords chain (oai_dc, no arguments): interactions 6 -> 10 -> 9 of
# list_records.yaml, three records a page (trimmed by the recorder; completeListSize says 8091628).
PAGES = [
    ["oai:zenodo.org:8435696", "oai:zenodo.org:8435639", "oai:zenodo.org:8433301"],
    ["oai:zenodo.org:8433364", "oai:zenodo.org:8333281", "oai:zenodo.org:8321258"],
    ["oai:zenodo.org:20589672", "oai:zenodo.org:20590449", "oai:zenodo.org:20565714"],
]
DELETED = "oai:zenodo.org:8433364"  # header status="deleted" yet with <metadata> (a Zenodo quirk)


@pytest.fixture
def zenodo():
    """The recorded Zenodo answers (other hosts in the cassettes left out), stopped after the test."""
    with ReplayServer(CASSETTES, host="zenodo.org") as srv:
        yield srv


def source(srv: ReplayServer, prefix: str = "oai_dc", census: str = "never") -> Source:
    """One window, so the list request is the recorded one (the harvester adds until=<responseDate>)."""
    return Source(
        id="zenodo",
        name="Zenodo",
        region="europe",
        endpoint=srv.url,
        metadata_prefix=prefix,
        window="none",
        deletion_census=census,
    )


def rows(data_dir) -> list[dict]:
    return [r for f in committed_files(data_dir, "records", "zenodo") for r in pq.read_table(data_dir / f).to_pylist()]


def test_recorded_oai_dc_list_is_harvested_page_by_page(zenodo, tmp_path):
    report = run_source(source(zenodo), tmp_path / "data")
    got = {r["oai_identifier"]: r for r in rows(tmp_path / "data")}
    assert report.status == "complete", report.errors
    assert [status for _, status in zenodo.log] == [200] * 4  # Identify + three pages, all recorded
    assert "until=2026-08-10T08%3A56%3A30Z" in zenodo.log[1][0]
    assert (report.pages, report.records, report.deleted) == (3, 9, 1)
    assert sorted(got) == sorted(sum(PAGES, []))
    assert all(r["datestamp"] <= zenodo.now for r in got.values())  # the replayed until is honest
    assert got[DELETED]["deleted"] and got[DELETED]["title"] is None  # status wins over the payload
    first = got["oai:zenodo.org:8435696"]
    assert first["title"] == "PocketCoffea: a configuration layer for CMS analyses with Coffea"
    assert first["primary_pid"] == "doi:10.5281/zenodo.8435696"
    assert first["set_specs"] == ["user-pyhep2023", "openaire"]
    assert any("completeListSize 8091628 but 9 listed" in w for w in report.warnings)


def test_deletion_census_tombstones_what_the_recorded_identifiers_lack(zenodo, tmp_path):
    # Identify says deletedRecord=no, so a complete harvest lists every identifier afterwards.
    # The recorded ListIdentifiers chain (6 -> 10 -> 9) lists 8435696 as deleted and was recorded
    # at another time than ListRecords: it lacks the three 2026 records, so they are tombstoned too.
    report = run_source(source(zenodo, census="auto"), tmp_path / "data")
    tombstones = {r["oai_identifier"] for r in rows(tmp_path / "data") if r["crosswalk_version"] == "census/1"}
    assert report.status == "complete", report.errors
    assert any("verb=ListIdentifiers" in path for path, _ in zenodo.log)
    assert (report.census_tombstones, report.records, report.deleted) == (4, 13, 5)
    assert tombstones == {"oai:zenodo.org:8435696", *PAGES[2]}


def test_no_records_match_sent_with_http_422_is_an_empty_complete_run(zenodo, tmp_path):
    report = run_source(source(zenodo), tmp_path / "data", from_="2030-01-01", until="2030-12-31")
    assert [status for _, status in zenodo.log] == [200, 422]  # the recorded from=2030-01-01 answer
    assert report.status == "complete" and report.errors == []
    assert (report.records, report.deleted) == (0, 0) and rows(tmp_path / "data") == []


def test_bad_resumption_token_sent_with_http_422_is_reported_as_an_oai_error(tmp_path):
    with ReplayServer(CASSETTES, host="zenodo.org", expire_tokens=True) as srv:
        report = run_source(source(srv), tmp_path / "data")
    bad = [path for path, status in srv.log if status == 422]
    assert bad and all("resumptionToken=" in path for path in bad)
    assert report.status == "partial"  # the window is re-run a few times, then given up; others go on
    assert any(
        "badResumptionToken" in e and f"{srv.url}?verb=ListRecords&resumptionToken=" in e for e in report.errors
    ), report.errors
    assert rows(tmp_path / "data") == []  # the window's first page is not kept half-listed


def test_recorded_datacite_list_stops_at_its_unrecorded_token(zenodo, tmp_path):
    # interaction 5 (datacite, 50 records) hands out a token nobody recorded: the chain is incomplete
    report = run_source(source(zenodo, prefix="datacite"), tmp_path / "data")
    assert [status for _, status in zenodo.log] == [200, 200, 404]
    assert report.status == "failed"
    assert "HTTP 404" in report.errors[0] and f"{zenodo.url}?verb=ListRecords&resumptionToken=" in report.errors[0]
    assert rows(tmp_path / "data") == []  # uncommitted pages are fetched again when the run resumes


def test_a_failed_run_reports_only_the_records_it_committed(zenodo, tmp_path):
    # at fc2d791 finish() totalled the pending counters before dropping those rows: records=50
    report = run_source(source(zenodo, prefix="datacite"), tmp_path / "data")
    assert report.status == "failed"
    assert report.records == len(rows(tmp_path / "data")) == 0
