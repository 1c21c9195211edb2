"""Rebuilding records from the raw layer: no network, a new crosswalk version reaches every record."""

from __future__ import annotations

from harvest.config.sources import Source
from harvest.crosswalk.base import REGISTRY, register
from harvest.crosswalk.oai_dc import map_oai_dc
from harvest.demo import DemoNetwork
from harvest.demo.faults import Fault
from harvest.demo.partners import partner
from harvest.runs.retransform import retransform
from harvest.runs.run import run_source
from harvest.store.datasets import read_committed


def shouting(metadata):
    row = map_oai_dc(metadata)
    return {**row, "title": row["title"].upper()}


def test_retransform_with_a_new_crosswalk_needs_no_network(tmp_path):
    p = partner("mosp-malaysia")
    with DemoNetwork() as net:
        src = Source(id=p.id, name=p.name, region=p.region, endpoint=net.url_for(p.id), metadata_prefix="oai_dc")
        first = run_source(src, tmp_path)
        net.inject(p.id, Fault("hide_records", ids=("oai:mosp.demo:10", "oai:mosp.demo:11"), verb=None))
        second = run_source(src, tmp_path)  # census tombstones: no raw XML behind them
    assert second.census_tombstones == 2
    before = read_committed(tmp_path, "records", p.id).to_pylist()
    register("test_shouting", version="shouting/2")(shouting)
    try:
        report = retransform(src, tmp_path, "test_shouting")  # the server is gone: raw layer only
    finally:
        REGISTRY.pop("test_shouting")
    after = read_committed(tmp_path, "records", p.id).to_pylist()
    assert report.records + report.carried_over == len(before) and report.quarantined == first.quarantined
    assert sorted((r["oai_identifier"], r["datestamp"]) for r in after) == sorted(
        (r["oai_identifier"], r["datestamp"]) for r in before
    )
    live = [r for r in after if not r["deleted"]]
    assert live and all(r["title"] == r["title"].upper() and r["crosswalk_version"] == "shouting/2" for r in live)
    assert sum(r["crosswalk_version"] == "census/1" for r in after) == 2
    old_titles = {r["oai_identifier"]: r["title"] for r in before if not r["deleted"]}
    assert all(old_titles[r["oai_identifier"]].upper() == r["title"] for r in live)
    quarantine = read_committed(tmp_path, "quarantine", p.id).to_pylist()
    assert [q["reason"] for q in quarantine] == ["missing_identifier"]  # replaced, not duplicated


def test_records_quarantined_before_get_another_chance(demo_network, tmp_path):
    """A crosswalk fix reaches records the old one quarantined: the raw layer kept their XML."""
    from lxml import etree

    p = partner("aosp-africa")
    src = Source(id=p.id, name=p.name, region=p.region, endpoint=demo_network.url_for(p.id), metadata_prefix="oai_dc")
    first = run_source(src, tmp_path)
    assert first.quarantined == 2

    def lenient(metadata):  # a title-less stub becomes "(untitled)" instead of being quarantined
        dc = metadata[0]
        if not any(etree.QName(c).localname == "title" for c in dc):
            etree.SubElement(dc, "{http://purl.org/dc/elements/1.1/}title").text = "(untitled)"
        return map_oai_dc(metadata)

    register("test_lenient", version="lenient/1")(lenient)
    try:
        report = retransform(src, tmp_path, "test_lenient")
    finally:
        REGISTRY.pop("test_lenient")
    assert (report.records, report.quarantined) == (first.records + 2, 0)
    titles = read_committed(tmp_path, "records", p.id).column("title").to_pylist()
    assert titles.count("(untitled)") == 2
    assert read_committed(tmp_path, "quarantine", p.id).num_rows == 0
