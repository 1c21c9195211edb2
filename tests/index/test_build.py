"""Consolidation and publishing: crafted cross-regional cases, manifest truth, readers agree."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import harvest
from harvest.config.schemas import arrow_schema
from harvest.errors import IndexBuildError
from harvest.publish.snapshots import build_and_publish, current_snapshot, rollback, snapshots
from harvest.store.storage import Storage
from harvest.store.writers import PartitionWriter

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rec(oai_id, title, *, pids=(), year=2020, family="Wang", deleted=False, day=1, url=None):
    """A canonical records row as a crosswalk would produce it."""
    return {
        "oai_identifier": oai_id,
        "datestamp": T0.replace(day=day),
        "deleted": deleted,
        "set_specs": [],
        "metadata_prefix": "oai_dc",
        "title": None if deleted else title,
        "creators": [] if deleted else [{"name": family, "family_name": family, "orcid": None, "affiliation": None}],
        "subjects": [],
        "description": None,
        "publisher": None,
        "publication_year": None if deleted else year,
        "resource_type": None,
        "language": None,
        "license": None,
        "identifiers": [] if deleted else [{"scheme": s, "value": v} for s, v in pids],
        "primary_pid": None,
        "landing_url": url,
        "related_identifiers": [],
        "run_id": "r1",
        "harvested_at": T0,
        "crosswalk_version": "test/1",
    }


def put(data, source, region, rows, run_id="r1"):
    w = PartitionWriter(data, "records", region, source, run_id)
    for r in rows:
        w.add({**r, "run_id": run_id})
    w.commit()


def works(data) -> list[dict]:
    return harvest.read_index(data).to_dict("records")


def by_pid(rows, pid):
    return [w for w in rows if pid in list(w["pids"])]


def harvested(oai_id, title, *identifiers, year=2020):
    """A records row as the oai_dc crosswalk makes it from a record written with these dc:identifiers."""
    from lxml import etree

    from harvest.crosswalk import get_crosswalk
    from harvest.records.rows import Lineage, map_record

    ids = "".join(f"<dc:identifier>{i}</dc:identifier>" for i in identifiers)
    xml = (
        f'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>{oai_id}</identifier>'
        f"<datestamp>2024-01-01</datestamp></header><metadata>"
        f'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
        f"<dc:creator>Wang, Li</dc:creator><dc:date>{year}</dc:date>{ids}</oai_dc:dc></metadata></record>"
    )
    crosswalk = get_crosswalk("oai_dc")
    out = map_record(etree.fromstring(xml), crosswalk, Lineage("s", "r", "oai_dc", "r1", T0, crosswalk.version), None)
    assert out.row is not None, out.quarantine
    return {k: v for k, v in out.row.items() if k != "originals"}


def test_doi_spelled_differently_in_three_regions_is_one_work(tmp_path):
    # as partners write it: a resolver URL in upper case, a doi: prefix, an old dx.doi.org URL with
    # mixed case; the crosswalk normalises each spelling, the index joins on the normalised DOI
    put(tmp_path, "eu", "europe", [harvested("oai:eu:1", "Soil carbon", "https://doi.org/10.5281/ZENODO.77")])
    put(tmp_path, "cn", "china", [harvested("oai:cn:9", "Soil carbon", "doi:10.5281/zenodo.77")])
    put(
        tmp_path,
        "la",
        "latin-america",
        [
            harvested(
                "oai:la:5",
                "Carbono del suelo",
                "http://dx.doi.org/10.5281/Zenodo.77",
                "https://repo.example.ar/handle/1/5",
            )
        ],
    )
    manifest = build_and_publish(tmp_path)
    rows = works(tmp_path)
    assert len(rows) == 1 and rows[0]["work_id"] == "doi:10.5281/zenodo.77" and rows[0]["match"] == "pid"
    assert list(rows[0]["regions"]) == ["china", "europe", "latin-america"]
    assert sorted(p["oai_identifier"] for p in rows[0]["provenance"]) == ["oai:cn:9", "oai:eu:1", "oai:la:5"]
    assert manifest["cross_region_works"] == 1 and manifest["regions"] == {"china": 1, "europe": 1, "latin-america": 1}


def test_doi_then_doi_and_handle_then_handle_chain_into_one_work(tmp_path):
    put(tmp_path, "a", "europe", [rec("oai:a:1", "X", pids=[("doi", "10.1/x")])])
    put(tmp_path, "b", "latin-america", [rec("oai:b:1", "X", pids=[("doi", "10.1/x"), ("handle", "20.500/7")])])
    put(tmp_path, "c", "africa", [rec("oai:c:1", "X", pids=[("handle", "20.500/7")])])
    build_and_publish(tmp_path)
    (work,) = works(tmp_path)
    assert sorted(work["pids"]) == ["doi:10.1/x", "handle:20.500/7"]
    assert work["work_id"] == "doi:10.1/x" and work["source_count"] == 3
    assert sorted(p["source_id"] for p in work["provenance"]) == ["a", "b", "c"]


def test_a_deletion_removes_only_that_sources_holding(tmp_path):
    put(tmp_path, "a", "europe", [rec("oai:a:1", "Y", pids=[("doi", "10.1/y")], day=1)], run_id="r1")
    put(tmp_path, "a", "europe", [rec("oai:a:1", "Y", deleted=True, day=5)], run_id="r2")
    put(tmp_path, "b", "africa", [rec("oai:b:1", "Y", pids=[("doi", "10.1/y")])])
    put(tmp_path, "c", "china", [rec("oai:c:1", "Z", pids=[("doi", "10.1/z")], day=2)], run_id="r1")
    put(tmp_path, "c", "china", [rec("oai:c:1", "Z", deleted=True, day=3)], run_id="r2")
    manifest = build_and_publish(tmp_path)
    rows = works(tmp_path)
    assert [w["work_id"] for w in rows] == ["doi:10.1/y"]  # Z was held only by c: gone
    assert [p["source_id"] for p in rows[0]["provenance"]] == ["b"]
    assert manifest["tombstones_applied"] == 2


def test_the_latest_version_of_a_record_wins(tmp_path):
    put(tmp_path, "a", "europe", [rec("oai:a:1", "Old title", pids=[("doi", "10.1/v")], day=1)], run_id="r1")
    put(tmp_path, "a", "europe", [rec("oai:a:1", "New title", pids=[("doi", "10.1/v")], day=9)], run_id="r2")
    build_and_publish(tmp_path)
    (work,) = works(tmp_path)
    assert work["title"] == "New title" and len(work["provenance"]) == 1


def test_same_datestamp_versions_are_decided_by_harvest_time_then_run(tmp_path):
    # oai:a:1 twice on day 5: the later harvest wins; oai:a:2 on day 5 at the same harvest time in two
    # runs, the later one a tombstone: it wins and the work goes; oai:a:3 has one version and stays
    later = T0.replace(day=20)
    put(
        tmp_path,
        "a",
        "europe",
        [
            rec("oai:a:1", "First harvest", pids=[("doi", "10.1/h")], day=5),
            rec("oai:a:2", "Kept?", pids=[("doi", "10.1/t")], day=5),
            rec("oai:a:3", "Only", pids=[("doi", "10.1/o")], day=5),
        ],
        run_id="r1",
    )
    put(
        tmp_path,
        "a",
        "europe",
        [{**rec("oai:a:1", "Second harvest", pids=[("doi", "10.1/h")], day=5), "harvested_at": later}],
        run_id="r2",
    )
    put(tmp_path, "a", "europe", [rec("oai:a:2", None, deleted=True, day=5)], run_id="r3")
    manifest = build_and_publish(tmp_path)
    rows = {w["work_id"]: w["title"] for w in works(tmp_path)}
    assert rows == {"doi:10.1/h": "Second harvest", "doi:10.1/o": "Only"}
    assert (manifest["records_in"], manifest["tombstones_applied"], manifest["live_records"]) == (3, 1, 2)


def test_versions_equal_in_every_key_are_decided_by_listing_order(tmp_path):
    """A partner that lists a record twice in one run (same datestamp, harvest time and run): the
    copy listed later wins, in a later chunk's file or further down the same file, every build."""

    def chunk(seq, rows):  # the files of one run's chunks, as parse workers name them
        w = PartitionWriter(tmp_path, "records", "europe", "a", f"r1-{seq:05d}-0")
        for r in rows:
            w.add(r)
        w.commit()

    chunk(
        0,
        [
            rec("oai:a:1", "Listed first", pids=[("doi", "10.1/f")]),
            rec("oai:a:2", "Same file, first", pids=[("doi", "10.1/s")]),
            rec("oai:a:2", "Same file, second", pids=[("doi", "10.1/s")]),
        ],
    )
    chunk(1, [rec("oai:a:1", "Listed again later", pids=[("doi", "10.1/f")])])
    for _ in range(3):
        build_and_publish(tmp_path)
        assert {w["work_id"]: w["title"] for w in works(tmp_path)} == {
            "doi:10.1/f": "Listed again later",
            "doi:10.1/s": "Same file, second",
        }


def test_cjk_title_without_pids_merges_by_fallback_key(tmp_path):
    put(
        tmp_path,
        "cn",
        "china",
        [rec("oai:cn:1", "青藏高原冻土温度数据集（2020）", year=2020, family="Wang", url="https://cn.example/1")],
    )
    put(
        tmp_path,
        "my",
        "malaysia",
        [rec("oai:my:1", "青藏高原 冻土温度数据集 (2020)", year=2020, family="WANG", url="https://my.example/1")],
    )
    build_and_publish(tmp_path)
    (work,) = works(tmp_path)
    assert work["match"] == "fallback" and work["work_id"].startswith("fb:")
    assert list(work["regions"]) == ["china", "malaysia"]


def test_accents_and_case_fold_but_different_years_do_not_merge(tmp_path):
    put(
        tmp_path,
        "a",
        "europe",
        [
            rec("oai:a:1", "Étude du sol", year=2019, family="Müller"),
            rec("oai:a:2", "Groundwater recharge", year=2019, family="Smith"),
        ],
    )
    put(
        tmp_path,
        "b",
        "africa",
        [
            rec("oai:b:1", "ETUDE DU SOL!", year=2019, family="Muller"),
            rec("oai:b:2", "Groundwater recharge", year=2021, family="Smith"),
        ],
    )
    build_and_publish(tmp_path)
    rows = works(tmp_path)
    assert len(rows) == 3
    assert sorted(w["source_count"] for w in rows) == [1, 1, 2]


def test_readers_agree_with_the_manifest_and_schema(demo_sources, tmp_path):
    from harvest.runs.run import run_source

    for src in demo_sources:
        run_source(src, tmp_path)
    manifest = build_and_publish(tmp_path)
    snap = current_snapshot(tmp_path)
    files = [str(snap / f) for f in manifest["files"]]
    counts = {
        "manifest": manifest["works"],
        "pyarrow": sum(pq.read_metadata(f).num_rows for f in files),
        "pandas": len(harvest.read_index(tmp_path)),
        "duckdb": duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchall()[0][0],
        "polars": pl.scan_parquet(files).select(pl.len()).collect().item(),
    }
    assert len(set(counts.values())) == 1, counts
    assert pq.read_schema(files[0]).equals(arrow_schema("index"), check_metadata=False)
    assert len(manifest["regions"]) >= 5 and manifest["cross_region_works"] > 0
    assert manifest["match"]["fallback"] >= 2  # the demo's PID-less copies
    chain = by_pid(works(tmp_path), "handle:20.500.12008/chain0")
    assert len(chain) == 1 and chain[0]["source_count"] == 3
    for f in manifest["files"]:
        assert manifest["checksums"][f] == "sha256:" + file_sha256(snap / f)


def test_rebuilds_are_deterministic_and_rollback_returns_the_previous_snapshot(demo_sources, tmp_path):
    from harvest.runs.run import run_source

    for src in demo_sources[:3]:
        run_source(src, tmp_path)
    first = build_and_publish(tmp_path)
    second = build_and_publish(tmp_path)
    assert first["snapshot_id"] != second["snapshot_id"]
    assert first["checksums"] == second["checksums"]  # same inputs, byte-identical index
    assert rollback(tmp_path) == first["snapshot_id"]
    assert json.loads((current_snapshot(tmp_path) / "manifest.json").read_text())["snapshot_id"] == first["snapshot_id"]
    assert snapshots(tmp_path) == sorted([first["snapshot_id"], second["snapshot_id"]])


def test_old_snapshots_are_pruned(tmp_path):
    put(tmp_path, "a", "europe", [rec("oai:a:1", "P", pids=[("doi", "10.1/p")])])
    for _ in range(4):
        build_and_publish(tmp_path, keep=2)
    assert len(snapshots(tmp_path)) == 2


def test_no_records_is_a_clear_error_and_publishes_nothing(tmp_path):
    with pytest.raises(IndexBuildError, match="no harvested records"):
        build_and_publish(tmp_path)
    assert not (tmp_path / "index" / "CURRENT").exists()
    assert not list((tmp_path / "index").glob(".building-*"))


def test_holdings_are_hive_partitioned_by_region_for_every_reader(tmp_path):
    put(
        tmp_path,
        "eu",
        "europe",
        [rec("oai:eu:1", "S", pids=[("doi", "10.1/s")]), rec("oai:eu:2", "T", pids=[("doi", "10.1/t")])],
    )
    put(tmp_path, "cn", "china", [rec("oai:cn:1", "S", pids=[("doi", "10.1/s")])])
    manifest = build_and_publish(tmp_path)
    snap = current_snapshot(tmp_path)
    assert manifest["tables"]["holdings"] == [
        "holdings/region=china/part-0.parquet",
        "holdings/region=europe/part-0.parquet",
    ]
    glob = str(snap / "holdings" / "*" / "*.parquet")
    by_duckdb = dict(
        duckdb.sql(
            f"SELECT region, count(*) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY 1"
        ).fetchall()
    )
    by_polars = dict(pl.scan_parquet(glob, hive_partitioning=True).group_by("region").len().collect().rows())
    import pyarrow.dataset as ds

    table = ds.dataset(snap / "holdings", format="parquet", partitioning="hive").to_table()
    by_pyarrow = {r: table.column("region").to_pylist().count(r) for r in set(table.column("region").to_pylist())}
    assert by_duckdb == by_polars == by_pyarrow == {"europe": 2, "china": 1}


@pytest.mark.parametrize("priorities, title", [({"a": 90, "b": 10}, "Title A"), ({"a": 10, "b": 90}, "Title B")])
def test_source_priority_breaks_ties_between_equally_complete_records(tmp_path, priorities, title):
    put(tmp_path, "a", "europe", [rec("oai:a:1", "Title A", pids=[("doi", "10.1/q")])])
    put(tmp_path, "b", "africa", [rec("oai:b:1", "Title B", pids=[("doi", "10.1/q")])])
    build_and_publish(tmp_path, priorities=priorities)
    (work,) = works(tmp_path)
    assert work["title"] == title


def test_the_most_complete_record_wins_over_priority(tmp_path):
    richer = {**rec("oai:b:1", "Title B", pids=[("doi", "10.1/r")]), "description": "abstract", "license": "CC0-1.0"}
    put(tmp_path, "a", "europe", [rec("oai:a:1", "Title A", pids=[("doi", "10.1/r")])])
    put(tmp_path, "b", "africa", [richer])
    build_and_publish(tmp_path, priorities={"a": 100, "b": 0})
    (work,) = works(tmp_path)
    assert (work["title"], work["license"]) == ("Title B", "CC0-1.0")


def test_ascii_and_non_ascii_spellings_merge_by_fallback_key(tmp_path):
    # the ASCII spelling's key is computed in SQL, the other's by matchkeys: they must meet
    put(
        tmp_path,
        "ru",
        "europe",
        [
            rec("oai:ru:1", "Почвенный углерод", year=2012, family="Иванов"),
            rec("oai:ru:2", "Ｓｏｉｌ　ｗａｔｅｒ（２）", year=2013, family="Smith"),
        ],
    )
    put(
        tmp_path,
        "en",
        "africa",
        [
            rec("oai:en:1", "Pochvennyi uglerod.", year=2012, family="IVANOV"),
            rec("oai:en:2", "Soil water (2)", year=2013, family="smith"),
        ],
    )
    manifest = build_and_publish(tmp_path)
    rows = works(tmp_path)
    assert len(rows) == 2 and all(w["match"] == "fallback" and w["source_count"] == 2 for w in rows)
    assert manifest["match"] == {"fallback": 2}


def test_works_follow_their_chosen_records_across_files_and_are_stable(tmp_path):
    # works come in the order of their chosen records in the (sorted) records files; b's records tie
    # with a's (same completeness, priority and datestamp), so a's are chosen: a's file order throughout
    from harvest.index.build import build_works

    put(
        tmp_path,
        "a",
        "europe",
        [rec(f"oai:a:{i}", f"T{i}", pids=[("doi", f"10.1/{i}")]) for i in range(23)]
        + [rec(f"oai:a:x{i}", f"Untitled {i}", year=None) for i in range(4)],
    )
    put(
        tmp_path,
        "b",
        "africa",
        [rec(f"oai:b:{i}", f"T{i}", pids=[("doi", f"10.1/{i}"), ("handle", f"1/{i}")]) for i in range(0, 23, 2)],
    )
    pool = pa.default_memory_pool().backend_name
    files, stats = build_works(Storage(tmp_path), "out", rows_per_file=10)
    assert pa.default_memory_pool().backend_name == pool  # the build's allocator is given back
    assert files == [f"works/part-{i:05d}.parquet" for i in range(3)]
    ids = [i for f in files for i in pq.read_table(tmp_path / "out" / f).column("work_id").to_pylist()]
    assert ids[:23] == [f"doi:10.1/{i}" for i in range(23)] and stats.live_records == 39
    assert len(ids) == 27 and all(i.startswith("rec:") for i in ids[23:])  # no year: no fallback key
    assert [pq.read_metadata(tmp_path / "out" / f).num_rows for f in files] == [10, 10, 7]
    again, _ = build_works(Storage(tmp_path), "out2", rows_per_file=10)
    assert [file_sha256(tmp_path / "out" / f) for f in files] == [file_sha256(tmp_path / "out2" / f) for f in again]


def test_long_chains_of_shared_pids_close_into_one_work_each(tmp_path):
    # record i shares a DOI with record i + 1: 40 links end to end, spread over three sources, plus a
    # second chain that must stay apart
    chain = [rec(f"oai:c:{i}", f"C{i}", pids=[("doi", f"10.9/{i}"), ("handle", f"9/{i + 1}")]) for i in range(40)]
    chain = [
        {**r, "identifiers": r["identifiers"] + ([{"scheme": "handle", "value": f"9/{i}"}] if i else [])}
        for i, r in enumerate(chain)
    ]
    other = [rec(f"oai:o:{i}", f"O{i}", pids=[("ark", f"o/{i}"), ("ark", f"o/{i + 1}")]) for i in range(7)]
    put(tmp_path, "a", "europe", chain[0::3] + other[::2])
    put(tmp_path, "b", "africa", chain[1::3] + other[1::2])
    put(tmp_path, "c", "china", chain[2::3])
    manifest = build_and_publish(tmp_path)
    rows = sorted(works(tmp_path), key=lambda w: w["work_id"])
    assert [(w["work_id"], len(w["provenance"]), w["source_count"]) for w in rows] == [
        ("ark:o/0", 7, 2),
        ("doi:10.9/0", 40, 3),
    ]
    assert len(rows[1]["pids"]) == 80 and manifest["match"] == {"pid": 2}


def test_holdings_follow_the_declared_schema_in_work_order_within_each_region(tmp_path):
    put(tmp_path, "eu", "europe", [rec(f"oai:eu:{i}", f"W{i}", pids=[("doi", f"10.1/{i % 5}")]) for i in range(12)])
    put(tmp_path, "eu2", "europe", [rec(f"oai:eu2:{i}", f"W{i}", pids=[("doi", f"10.1/{i}")]) for i in range(6)])
    put(tmp_path, "cn", "china", [rec(f"oai:cn:{i}", f"W{i}", pids=[("doi", f"10.1/{i}")]) for i in range(0, 8, 3)])
    manifest = build_and_publish(tmp_path)
    snap = current_snapshot(tmp_path)
    expected = {}
    for w in works(tmp_path):
        for p in w["provenance"]:
            expected.setdefault(p["region"], []).append((w["work_id"], p["source_id"], p["oai_identifier"]))
    for f in manifest["tables"]["holdings"]:
        table = pq.read_table(snap / f)
        assert table.schema.equals(arrow_schema("holdings", with_partitions=False), check_metadata=False)
        region = f.split("/")[1].removeprefix("region=")
        got = list(zip(*(table.column(c).to_pylist() for c in ("work_id", "source_id", "oai_identifier"))))
        assert got == expected[region]  # the works' order, each work's holdings by (source_id, oai_identifier)
        for work_id in {g[0] for g in got}:
            mine = [g for g in got if g[0] == work_id]
            assert mine == sorted(mine)
    assert sum(len(v) for v in expected.values()) == 21


def test_records_without_identifiers_list_still_merge_by_fallback_key(tmp_path):
    put(
        tmp_path,
        "a",
        "europe",
        [{**rec("oai:a:1", "Glacier mass balance", year=2016, family="Rossi"), "identifiers": None}],
    )
    put(
        tmp_path,
        "b",
        "africa",
        [
            rec("oai:b:1", "Glacier mass-balance", year=2016, family="rossi"),
            rec("oai:b:2", "Other", pids=[("doi", "10.1/o"), ("doi", "10.1/o"), ("urn", "x")]),
        ],
    )
    build_and_publish(tmp_path)
    rows = works(tmp_path)
    assert sorted((w["match"], w["source_count"]) for w in rows) == [("fallback", 2), ("single", 1)]
    assert [list(w["pids"]) for w in rows if w["match"] == "single"] == [["doi:10.1/o", "urn:x"]]


def _build_digests(data, name, **kwargs):
    from harvest.index.build import build_works

    out = data / name
    files, stats = build_works(Storage(data), name, rows_per_file=7_000, **kwargs)
    written = sorted(p.relative_to(out) for p in out.rglob("*.parquet"))
    return files, {str(p): file_sha256(out / p) for p in written}, stats


def test_a_small_memory_limit_and_many_aggregate_passes_give_the_same_files(tmp_path, monkeypatch):
    # DuckDB spills under the small limit (measured: several MB in the spill directory), and the works of
    # several records are aggregated in many slices instead of one: byte-identical works, holdings
    # and counts either way
    import harvest.index.cluster as cluster
    from bench.consolidate import generate

    data = tmp_path / "data"
    generate(data, 60_000)
    files, digests, stats = _build_digests(data, "default")
    assert len(files) >= 2 and any(k.startswith("holdings/") for k in digests)
    small_files, small_digests, small_stats = _build_digests(data, "small", memory_limit="96MB")
    monkeypatch.setattr(cluster, "_MEMBERS_PER_PASS", 5_000)
    passes_files, passes_digests, passes_stats = _build_digests(data, "passes")
    assert files == small_files == passes_files
    assert digests == small_digests == passes_digests
    assert stats == small_stats == passes_stats


def test_works_are_cut_into_chunks_by_their_holdings_too_with_the_same_index(tmp_path, monkeypatch):
    # large clusters (the bench's fallback keys gather 20-60 records a work) must not make one chunk
    # of works carry hundreds of thousands of provenance entries: a chunk (a row group of the works
    # files) holds at most _MAX_HOLDINGS of them, or is a single work; the index is the same
    import harvest.index.build as index
    from bench.consolidate import generate
    from harvest.index.build import build_works

    data = tmp_path / "data"
    generate(data, 60_000)
    default, _ = build_works(Storage(data), "default", rows_per_file=7_000)
    monkeypatch.setattr(index, "_MAX_HOLDINGS", 700)
    small, _ = build_works(Storage(data), "small", rows_per_file=7_000)
    read = lambda out, files: pa.concat_tables([pq.read_table(out / f) for f in files])  # noqa: E731
    assert read(data / "default", default).equals(read(data / "small", small))

    def row_groups(out, files):
        groups = [
            pq.ParquetFile(out / f).read_row_group(g, columns=["provenance"])
            for f in files
            for g in range(pq.ParquetFile(out / f).num_row_groups)
        ]
        return [(g.num_rows, pc.sum(pc.list_value_length(g.column("provenance"))).as_py()) for g in groups]

    assert max(held for _, held in row_groups(data / "default", default)) > 5_000
    small_groups = row_groups(data / "small", small)
    assert all(held <= 700 or works == 1 for works, held in small_groups)
    assert sum(held > 600 for _, held in small_groups) > len(small_groups) // 2  # cut near the bound
    for region in ("china", "europe"):
        part = f"holdings/region={region}/part-0.parquet"
        assert pq.read_table(data / "default" / part).equals(pq.read_table(data / "small" / part))


def _chunk_reader(counts, batch):
    schema = pa.schema([("w", pa.int64()), ("n", pa.int32())])
    batches = [
        pa.record_batch(
            [pa.array(range(i, min(i + batch, len(counts)))), pa.array(counts[i : i + batch], pa.int32())],
            schema=schema,
        )
        for i in range(0, len(counts), batch)
    ]
    return pa.RecordBatchReader.from_batches(schema, batches)


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_work_chunks_hold_at_most_size_works_and_max_holdings_whatever_the_batches(batch):
    from harvest.index.assemble import work_chunks

    counts = [1] * 30 + [9, 2, 25, 1, 1] + [3] * 20 + [1]  # holdings per work, in stream order
    chunks = list(work_chunks(_chunk_reader(counts, batch), 8, 10))
    assert [w for c in chunks for w in c.column("w").to_pylist()] == list(range(len(counts)))
    # 8 works at most; past 10 holdings the chunk ends before the work that crosses it; a work of 25
    # holdings is a chunk of its own
    assert [c.num_rows for c in chunks] == [8, 8, 8, 6, 1, 1, 1, 4, 3, 3, 3, 3, 3, 4]
    assert [sum(c.column("n").to_pylist()) for c in chunks] == [8, 8, 8, 6, 9, 2, 25, 8, 9, 9, 9, 9, 9, 10]


def test_work_chunks_of_an_empty_stream_are_one_empty_table():
    from harvest.index.assemble import work_chunks

    chunks = list(work_chunks(_chunk_reader([], 5), 8, 10))
    assert len(chunks) == 1 and chunks[0].num_rows == 0


def test_chosen_records_are_read_across_row_groups_and_older_files_lacking_columns(tmp_path):
    # a records file of an older schema (no licence, no description) with 3-row row groups, next to a
    # current one: every work gets its own chosen record's fields, nulls where the old file had none
    old = [rec(f"oai:old:{i:02d}", f"Old {i}", pids=[("doi", f"10.7/{i}")]) for i in range(11)]
    table = pa.Table.from_pylist(old, schema=arrow_schema("records", with_partitions=False))
    table = table.drop_columns(["license", "description"])
    folder = tmp_path / "records" / "region=africa" / "source_id=old"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-20200101T000000Z-0000abcd-00000.parquet", row_group_size=3)
    # the current source holds works 3 and 8 too, more completely: it is chosen there
    put(
        tmp_path,
        "new",
        "europe",
        [
            {
                **rec(f"oai:new:{i}", f"New {i}", pids=[("doi", f"10.7/{i}")]),
                "description": f"About {i}",
                "license": "CC-BY-4.0",
            }
            for i in (3, 8, 20)
        ],
    )
    build_and_publish(tmp_path)
    rows = {w["work_id"]: w for w in works(tmp_path)}
    assert len(rows) == 12
    for i in range(11):
        w = rows[f"doi:10.7/{i}"]
        if i in (3, 8):
            assert (w["title"], w["description"], w["license"]) == (f"New {i}", f"About {i}", "CC-BY-4.0")
            assert sorted(p["source_id"] for p in w["provenance"]) == ["new", "old"]
        else:
            assert (w["title"], w["description"], w["license"]) == (f"Old {i}", None, None)
            assert [p["oai_identifier"] for p in w["provenance"]] == [f"oai:old:{i:02d}"]
    assert rows["doi:10.7/20"]["title"] == "New 20"


def test_a_failing_writer_fails_the_build_stops_its_threads_and_keeps_the_current_index(tmp_path, monkeypatch):
    import threading

    import harvest.index.build as index
    import harvest.index.sinks as sinks
    from bench.consolidate import generate

    generate(tmp_path, 30_000)
    first = build_and_publish(tmp_path)
    before = {t.ident for t in threading.enumerate()}

    def broken(self, item):
        raise OSError("disk full (test)")

    monkeypatch.setattr(sinks.HoldingsFiles, "add", broken)
    monkeypatch.setattr(index, "_ROW_GROUP", 1_000)  # many batches: the read-ahead thread is mid-stream
    with pytest.raises(OSError, match="disk full") as failed:
        build_and_publish(tmp_path)
    # stopped by the build itself, not by the garbage collector (the traceback still holds its frames)
    assert failed.traceback and [t.name for t in threading.enumerate() if t.ident not in before] == []
    assert current_snapshot(tmp_path).name == first["snapshot_id"] and snapshots(tmp_path) == [first["snapshot_id"]]
    assert len(works(tmp_path)) == first["works"]
    assert not list((tmp_path / "index").glob(".building-*")) and not list((tmp_path / "index").glob(".work-*"))


def test_the_build_never_loads_pandas(tmp_path):
    """pyarrow imports pandas on its first pa.array, pa.scalar or to_numpy (~0.15 s and ~40 MB, a
    quarter of a 100 k-record build); the build has no use for it. Checked in a fresh interpreter."""
    import subprocess
    import sys
    from pathlib import Path

    from bench.consolidate import generate

    data = tmp_path / "data"
    generate(data, 5_000)
    code = (
        "import sys\nfrom harvest.publish.snapshots import build_and_publish\nm = build_and_publish(sys.argv[1])\n"
        "print(m['works'], 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    works, loaded = out.stdout.split()[-2:]
    assert int(works) > 0 and loaded == "False"


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
