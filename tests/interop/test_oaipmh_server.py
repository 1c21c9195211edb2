"""Harvesting PyPI oaipmh's own server: a second OAI-PMH implementation must give the same records."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from harvest.config.sources import Source
from harvest.runs.run import run_source
from harvest.store.datasets import committed_files
from tests.interop.oaipmh_server import DAY, NON_LATIN_TITLE, SECONDS, Backend, OAIPMHServer, Rec, catalogue


@pytest.fixture(params=[DAY, SECONDS])
def served(request):
    """The catalogue behind oaipmh's Server, in both granularities, 10 records a page."""
    with OAIPMHServer(Backend(catalogue(), request.param), batch_size=10) as srv:
        yield srv


def source(srv: OAIPMHServer) -> Source:
    return Source(id="pyoai", name="oaipmh server", region="europe", endpoint=srv.url, metadata_prefix="oai_dc")


def rows(data_dir, run_id: str | None = None) -> list[dict]:
    """Every committed records row of the source (of one run when run_id is given)."""
    found = [r for f in committed_files(data_dir, "records", "pyoai") for r in pq.read_table(data_dir / f).to_pylist()]
    return [r for r in found if run_id is None or r["run_id"] == run_id]


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def test_full_harvest_lands_every_record_once_normalised(served, tmp_path):
    report = run_source(source(served), tmp_path / "data")
    got = rows(tmp_path / "data")
    recs = {r.identifier: r for r in served.backend.records}
    assert report.status == "complete", report.errors
    assert sum("resumptionToken=" in path for path in served.requests) >= 3  # several pages per list
    assert sorted(r["oai_identifier"] for r in got) == sorted(recs)  # each exactly once
    assert (report.records, report.deleted, report.quarantined) == (57, 2, 0)
    assert {r["oai_identifier"] for r in got if r["deleted"]} == {"oai:interop.example:007", "oai:interop.example:041"}
    for row in got:
        rec = recs[row["oai_identifier"]]
        # oaipmh writes datestamps to the second even when it declares day granularity: kept as sent
        assert row["datestamp"] == utc(rec.datestamp)
        if not rec.deleted:
            assert row["primary_pid"] == f"doi:{rec.doi}"  # from 'https://doi.org/10.1234/ABC.n' or 'doi:…'
            assert {"scheme": "doi", "value": rec.doi} in row["identifiers"]
    non_latin = next(r for r in got if r["oai_identifier"] == "oai:interop.example:013")
    assert non_latin["title"] == NON_LATIN_TITLE
    assert [c["name"] for c in non_latin["creators"]] == ["山田, 太郎", "Müller, Jürgen"]


@pytest.mark.parametrize(
    "granularity, from_, until, last",
    [
        (DAY, "2021-03-01", "2021-06-30", "2021-06-30T23:59:59"),
        (SECONDS, "2021-03-01T00:00:00Z", "2021-06-30T23:59:59Z", "2021-06-30T23:59:59"),
        (SECONDS, "2021-03-01T00:00:00Z", "2021-06-30T12:00:00Z", "2021-06-30T12:00:00"),
        # a day repository cannot express 12:00: the harvester widens to the whole day, never narrows
        (DAY, "2021-03-01T00:00:00Z", "2021-06-30T12:00:00Z", "2021-06-30T23:59:59"),
        # a day-only until means the whole day on a seconds repository too (at fc2d791 it was sent as T00:00:00Z)
        (SECONDS, "2021-03-01", "2021-06-30", "2021-06-30T23:59:59"),
    ],
)
def test_ranged_harvest_returns_exactly_the_records_in_range(granularity, from_, until, last, tmp_path):
    backend = Backend(catalogue(), granularity)
    lo, hi = datetime(2021, 3, 1), datetime.fromisoformat(last)
    with OAIPMHServer(backend, batch_size=4) as srv:
        report = run_source(source(srv), tmp_path / "data", from_=from_, until=until)
    expected = {r.identifier for r in backend.records if lo <= r.datestamp <= hi}
    assert report.status == "complete", report.errors
    assert sorted(r["oai_identifier"] for r in rows(tmp_path / "data")) == sorted(expected)
    assert len(expected) >= 6  # the edge records 2021-03-01T00:00:00 .. 2021-06-30T…, plus ordinary ones


def test_incremental_harvest_fetches_only_what_changed(served, tmp_path):
    first = run_source(source(served), tmp_path / "data")
    backend = served.backend
    revised = backend.change(
        "oai:interop.example:010", dc={"title": ["Revised"], "identifier": ["doi:10.1234/abc.010"]}
    )
    gone = backend.change("oai:interop.example:020", deleted=True)
    new = backend.add(
        Rec(
            "oai:interop.example:058",
            datetime(2000, 1, 1),
            ["physics"],
            dc={"title": ["New"], "identifier": ["doi:10.1234/ABC.058"]},
        )
    )
    second = run_source(source(served), tmp_path / "data")
    got = {r["oai_identifier"]: r for r in rows(tmp_path / "data", second.run_id)}
    assert first.status == second.status == "complete", second.errors
    assert second.watermark_before == first.watermark_after
    assert sorted(got) == sorted([revised.identifier, gone.identifier, new.identifier])
    assert (second.records, second.deleted) == (3, 1)
    assert got[revised.identifier]["title"] == "Revised" and got[gone.identifier]["deleted"]
    assert got[new.identifier]["primary_pid"] == "doi:10.1234/abc.058"
