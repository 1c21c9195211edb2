"""PartitionWriter: rows become Arrow in small batches and are written in row groups of flush_rows."""

from datetime import UTC, datetime

import pyarrow.parquet as pq

from harvest.store.writers import PartitionWriter

AT = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def row(i: int) -> dict:
    return {
        "run_id": "r1",
        "page_url": f"http://127.0.0.1/oai?page={i // 100}",
        "oai_identifier": f"oai:x:{i}",
        "reason": "bad_xml",
        "detail": f"record {i}",
        "raw_xml": b"<record/>" * (i % 3),
        "quarantined_at": AT,
    }


def test_rows_are_batched_into_arrow_and_written_in_row_groups_of_flush_rows(tmp_path):
    w = PartitionWriter(tmp_path, "quarantine", "europe", "s1", "r1", flush_rows=5000, batch_rows=1000)
    for i in range(12_345):
        w.add(row(i))
        if i == 2_499:  # two batches converted, 500 rows still Python dicts, nothing written yet
            assert len(w.buffer) == 500 and w._pending == 2000 and not (tmp_path / w.tmp).exists()
    f = pq.ParquetFile(tmp_path / w.seal())
    assert [f.metadata.row_group(g).num_rows for g in range(f.num_row_groups)] == [5000, 5000, 2345]
    t = f.read()
    assert t.column("oai_identifier").to_pylist() == [f"oai:x:{i}" for i in range(12_345)]
    assert t.column("raw_xml").to_pylist()[:4] == [b"", b"<record/>", b"<record/>" * 2, b""]
    assert set(t.column("quarantined_at").to_pylist()) == {AT}
    assert not (tmp_path / w.final).exists() and w.rows == 12_345  # sealed, not yet renamed into place


def test_a_batch_with_a_row_lacking_a_column_gets_null_there_and_extra_keys_are_ignored(tmp_path):
    """Full rows take the one-pass path (itemgetter + zip); a batch where one row lacks a column
    is built column by column: both give the same table, nulls where values are missing."""
    from harvest.records.tables import ColumnBuffer

    full = [dict(row(i), extra="ignored") for i in range(10)]
    holed = [dict(r) for r in full]
    del holed[3]["detail"], holed[7]["raw_xml"]
    a, b = ColumnBuffer("quarantine"), ColumnBuffer("quarantine")
    a.rows, b.rows = full, holed
    ta, tb = a.take(), b.take()
    assert ta.column_names == tb.column_names and "extra" not in ta.column_names
    assert tb.column("detail").to_pylist() == [None if i == 3 else f"record {i}" for i in range(10)]
    assert tb.column("raw_xml").to_pylist()[7] is None and ta.column("raw_xml").to_pylist()[7] == b"<record/>"
    assert ta.drop_columns(["detail", "raw_xml"]).equals(tb.drop_columns(["detail", "raw_xml"]))
    assert ColumnBuffer("quarantine").take().num_rows == 0


def test_abort_drops_written_and_batched_rows(tmp_path):
    w = PartitionWriter(tmp_path, "quarantine", "europe", "s1", "r2", flush_rows=2000, batch_rows=500)
    for i in range(3_200):  # one row group written, two batches and 200 rows waiting
        w.add(row(i))
    assert (tmp_path / w.tmp).exists()
    w.abort()
    assert not (tmp_path / w.tmp).exists() and not (tmp_path / w.final).exists()
    assert w.seal() is None  # nothing is left to write


def test_iter_batches_streams_a_file_one_row_group_at_a_time(tmp_path):
    # pyarrow's default (pre_buffer) reads every row group of the file before the first batch: an
    # allocator that counts its bytes shows the whole file in memory at once. Read in a fresh
    # process, so the pool's peak is that read's alone.
    import os
    import subprocess
    import sys

    import pyarrow as pa

    path = tmp_path / "f.parquet"
    table = pa.table({"i": pa.array(range(400_000)), "s": pa.array([os.urandom(48).hex() for _ in range(400_000)])})
    pq.write_table(table, path, row_group_size=20_000, compression="none")
    code = """
import sys
import pyarrow as pa
pa.set_memory_pool(pa.mimalloc_memory_pool())
from harvest.store.storage import Storage
rows = [batch.column("i")[0].as_py() for batch in Storage(sys.argv[1]).iter_batches("f.parquet", 5_000, ["i", "s"])]
assert rows == list(range(0, 400_000, 5_000)), rows
print(len(rows), pa.default_memory_pool().max_memory())
"""
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True)
    batches, peak = map(int, out.stdout.split())
    assert batches == 80 and path.stat().st_size > 40_000_000
    assert peak < path.stat().st_size / 4  # a row group (1/20 of the file) and its batches, not the file


def test_each_table_gets_dictionaries_and_statistics_where_its_options_say(tmp_path):
    """TABLE_PARQUET names column paths; pyarrow ignores a name that matches no column, so every
    path is checked against a file written from real mapped records (sickle's sample page: live
    and deleted records) and the table's quarantine rows; free text never carries statistics."""
    from pathlib import Path

    from harvest.crosswalk import get_crosswalk
    from harvest.oai.page import parse_page
    from harvest.records.pages import map_page
    from harvest.records.rows import Lineage
    from harvest.store.writers import TABLE_PARQUET, ChunkWriter

    content = (Path(__file__).parent.parent / "data" / "oai" / "sickle_ListRecords.xml").read_bytes()
    writer = ChunkWriter(tmp_path, "europe", "s1", "r1")
    lin = Lineage("s1", "europe", "oai_dc", "r1", AT, "oai_dc/2")
    result = map_page(parse_page(content, "http://127.0.0.1/oai", "s1"), get_crosswalk("oai_dc"), lin)
    writer.add_tables(result.tables)
    for i in range(3):
        writer.add("quarantine", row(i))
    assert result.records > 0 and result.deleted > 0
    files = writer.commit()
    assert len(files) == 3
    for final in files:
        table = Path(final).parts[0]
        meta = pq.ParquetFile(tmp_path / final).metadata
        chunks = {
            meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i) for i in range(meta.num_columns)
        }
        options = TABLE_PARQUET[table]
        assert set(options["use_dictionary"]) <= set(chunks), table
        assert set(options["write_statistics"]) <= set(chunks), table
        for path, chunk in chunks.items():
            assert ("RLE_DICTIONARY" in chunk.encodings) == (path in options["use_dictionary"]), path
            assert chunk.is_stats_set == (path in options["write_statistics"]), path
        assert not {"title", "description", "xml", "raw_xml", "detail"} & set(options["write_statistics"])


def test_tuple_rows_in_column_order_and_dict_rows_give_the_same_table_and_a_wrong_tuple_is_refused(tmp_path):
    """harvest.records hands its rows over as tuples in the declared column order; other writers
    add dicts; one batch may hold both. A tuple of the wrong length would shift or cut columns
    under zip, so it is refused."""
    import pytest

    from harvest.config.schemas import arrow_schema
    from harvest.records.rows import RAW_COLUMNS, RECORD_COLUMNS
    from harvest.records.tables import ColumnBuffer

    assert RECORD_COLUMNS == tuple(arrow_schema("records", with_partitions=False).names)
    assert RAW_COLUMNS == tuple(arrow_schema("raw", with_partitions=False).names)
    names = arrow_schema("quarantine", with_partitions=False).names
    dicts = [row(i) for i in range(6)]
    mixed = [tuple(r[n] for n in names) if i % 2 else r for i, r in enumerate(dicts)]
    a, b = ColumnBuffer("quarantine"), ColumnBuffer("quarantine")
    a.rows, b.rows = dicts, mixed
    assert a.take().equals(b.take())
    for bad in (tuple(dicts[0][n] for n in names)[:-1], (*(dicts[0][n] for n in names), "extra")):
        c = ColumnBuffer("quarantine")
        c.rows = [tuple(r[n] for n in names) for r in dicts] + [bad]
        with pytest.raises(ValueError, match="quarantine: a row tuple"):
            c.take()
