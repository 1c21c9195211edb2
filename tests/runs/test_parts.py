"""A part (harvest.runs.parts): pages' bytes → one chunk's sealed files under temporary names, the
same rows a page-by-page mapping gives; an unreadable page becomes a quarantine row; a part that
fails leaves no file behind."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harvest.demo.partners import partner
from harvest.demo.provider import Provider
from harvest.oai.page import parse_page
from harvest.records.pages import PageSpec, map_body
from harvest.records.rows import Lineage
from harvest.runs.parts import PartPage, PartSpec, write_part
from harvest.store.storage import Storage

LIN = Lineage("aosp-africa", "africa", "oai_dc", "20261208T000000Z-abcdef", datetime(2026, 12, 8, tzinfo=UTC), "v")
URL = "http://127.0.0.1/oai?verb=ListRecords"


def pages(n: int) -> list[bytes]:
    """The first `n` ListRecords pages of a demo partner that has unmappable records among its own."""
    provider = Provider(partner("aosp-africa"), "http://127.0.0.1/oai", page_size=20)
    out, args = [], {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]}
    for _ in range(n):
        body = provider.handle(args)[1]
        out.append(body)
        args = {"verb": ["ListRecords"], "resumptionToken": [parse_page(body, URL).token]}
    return out


def spec(tmp_path, crosswalk: str = "oai_dc") -> PartSpec:
    return PartSpec("aosp-africa", "africa", crosswalk, LIN, Storage(tmp_path))


def test_a_part_writes_the_rows_its_pages_map_to_sealed_under_temporary_names(tmp_path):
    bodies = pages(3)
    broken = bodies[1][: len(bodies[1]) // 2]
    part = [
        PartPage(URL + "&p=0", bodies[0]),
        PartPage(URL + "&p=1", broken, ("malformed_xml", "cut")),
        PartPage(URL + "&p=2", bodies[2]),
    ]
    written = write_part(spec(tmp_path), 7, part)
    expected = {t: [] for t in ("records", "raw", "quarantine")}
    for body, url in ((bodies[0], URL + "&p=0"), (bodies[2], URL + "&p=2")):
        for table, rows in map_body(PageSpec("aosp-africa", "oai_dc", LIN), body, url).tables.items():
            expected[table].append(rows)
    unmapped = sum(t.num_rows for t in expected["quarantine"])
    assert written.seq == 7 and written.listed == 40 and written.quarantined == unmapped + 1  # + the page
    files = dict((final.split("/", 1)[0], (tmp, final)) for tmp, final in written.files)
    assert set(files) == {"records", "raw", "quarantine"}
    for table, (tmp, final) in files.items():
        assert "/.part-20261208T000000Z-abcdef-00007.parquet.tmp" in tmp and final.endswith(
            "/part-20261208T000000Z-abcdef-00007.parquet"
        )
        assert (tmp_path / tmp).exists() and not (tmp_path / final).exists()  # the harvester renames them
        got = pq.read_table(tmp_path / tmp)
        if table != "quarantine":
            assert got.equals(pa.concat_tables(expected[table]))
    quarantine = pq.read_table(tmp_path / files["quarantine"][0]).to_pylist()
    page_row = [r for r in quarantine if r["reason"] == "malformed_xml"]
    assert len(page_row) == 1 and page_row[0]["raw_xml"] == broken and page_row[0]["page_url"] == URL + "&p=1"
    assert written.records == pq.read_metadata(tmp_path / files["records"][0]).num_rows
    assert list(written.fills) == [files["records"][1]]  # fill counts by the name the file will have
    assert sorted(spec(tmp_path).temporary_files(7)) == sorted(tmp for tmp, _ in written.files)


def test_a_part_that_fails_leaves_no_file(tmp_path):
    with pytest.raises(Exception, match="no-such-format"):
        write_part(spec(tmp_path, crosswalk="no-such-format"), 0, [PartPage(URL, pages(1)[0])])
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
