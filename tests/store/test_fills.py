"""The validation report (pyarrow, one row group at a time) against the DuckDB query it replaced."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from harvest.records.rows import Lineage, quarantine_row
from harvest.store.fills import DESCRIPTIVE, EXAMPLES, LIST_FIELDS, validation_report
from harvest.store.writers import ChunkWriter


def duckdb_report(data_dir, files) -> dict:
    """The report as the former DuckDB implementation computed it (the reference)."""
    records = [str(data_dir / f) for f in files if f.startswith("records/")]
    quarantine = [str(data_dir / f) for f in files if f.startswith("quarantine/")]
    report: dict = {"live_records": 0, "fill_rates": {}, "quarantine": {}}
    con = duckdb.connect()
    if records:
        filled = ", ".join(
            f"avg(CASE WHEN {c} IS NOT NULL AND len({c}) > 0 THEN 1 ELSE 0 END)"
            if c in LIST_FIELDS
            else f"avg(CASE WHEN {c} IS NOT NULL THEN 1 ELSE 0 END)"
            for c in DESCRIPTIVE
        )
        row = con.execute(f"SELECT count(*), {filled} FROM read_parquet({records!r}) WHERE NOT deleted").fetchall()[0]
        report["live_records"] = row[0]
        report["fill_rates"] = {c: round(v or 0.0, 4) for c, v in zip(DESCRIPTIVE, row[1:])}
    if quarantine:
        for reason, n, examples in con.execute(f"""
                SELECT reason, count(*),
                       list({{'oai_identifier': oai_identifier, 'detail': detail, 'page_url': page_url}}
                            ORDER BY oai_identifier NULLS LAST)[1:{EXAMPLES}]
                FROM read_parquet({quarantine!r}) GROUP BY reason ORDER BY count(*) DESC, reason""").fetchall():
            report["quarantine"][reason] = {"count": n, "examples": examples}
    con.close()
    return report


def _write(tmp_path, n_chunks: int = 3, rows: int = 7000) -> list[str]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    lin = Lineage("s", "europe", "oai_dc", "r1", now, "1")
    w = ChunkWriter(tmp_path, "europe", "s", "r1")
    files = []
    i = 0
    for _ in range(n_chunks):
        for _ in range(rows):
            i += 1
            row = {
                "oai_identifier": f"oai:x:{i}",
                "datestamp": now,
                "deleted": i % 11 == 0,
                "metadata_prefix": "oai_dc",
                "run_id": "r1",
                "harvested_at": now,
                "crosswalk_version": "1",
                "set_specs": [],
                "title": f"t{i}" if i % 3 else None,
                "creators": [{"name": "a"}] if i % 4 else [],
                "subjects": None if i % 5 == 0 else ["s"] * (i % 2),
                "identifiers": [],
                "related_identifiers": [],
                "publication_year": i % 7 or None,
                "language": "en" if i % 2 else None,
            }
            w.add("records", row)
            if i % 13 == 0:  # unique identifiers, and some without one: examples are well defined
                oai_id = None if i % 26 == 0 else f"oai:x:{i:07d}"
                w.add(
                    "quarantine",
                    quarantine_row(
                        lin,
                        f"http://p/{i}",
                        oai_id,
                        ("bad_header", "crosswalk_error", "missing_metadata")[i % 3],
                        f"d{i}",
                        b"<x/>",
                    ),
                )
        files += w.commit()
    return files


def test_report_matches_the_duckdb_query(tmp_path):
    files = _write(tmp_path)
    mine, ref = validation_report(tmp_path, files), duckdb_report(tmp_path, files)
    assert mine["live_records"] == ref["live_records"] > 0
    assert mine["fill_rates"] == ref["fill_rates"]
    assert list(mine["quarantine"]) == list(ref["quarantine"])
    for reason, entry in ref["quarantine"].items():
        assert mine["quarantine"][reason]["count"] == entry["count"]
        assert [e["oai_identifier"] for e in mine["quarantine"][reason]["examples"]] == [
            e["oai_identifier"] for e in entry["examples"]
        ]
        assert mine["quarantine"][reason]["examples"] == entry["examples"]


def test_empty_and_all_deleted(tmp_path):
    assert validation_report(tmp_path, []) == {"live_records": 0, "fill_rates": {}, "quarantine": {}}


def test_fill_counts_are_in_the_records_footers_and_equal_a_count_of_the_columns(tmp_path):
    """The writer puts each records file's fill counts in its footer, and the report reads those;
    a file without them (written before they existed) is counted from its columns: same report."""
    import json

    import pyarrow.parquet as pq

    from harvest.store.fills import FILL_KEY, FillCounts

    files = _write(tmp_path)
    records = [tmp_path / f for f in files if f.startswith("records/")]
    assert len(records) == 3
    footers = [json.loads(pq.read_metadata(p).metadata[FILL_KEY.encode()]) for p in records]
    counted = []
    for path in records:
        counts = FillCounts()
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
            counts.add(batch)
        counted.append({"live": counts.live, "filled": counts.filled})
    assert footers == counted and all(f["live"] > 0 for f in footers)
    assert {k for f in footers for k, v in f["filled"].items() if v} >= {"title", "creators", "language"}
    with_footers = validation_report(tmp_path, files)
    for path in records:  # as an older version wrote them: no counts in the footer
        pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)
        assert FILL_KEY.encode() not in (pq.read_metadata(path).metadata or {})
    assert validation_report(tmp_path, files) == with_footers == duckdb_report(tmp_path, files)


def test_fill_counts_known_from_the_writers_are_used_without_opening_the_files(tmp_path):
    """Parse workers send each sealed records file's counts back with it: the report then opens no
    records file (here they are overwritten with garbage afterwards). Counts taken over other
    fields than today's are not used: that file is counted again."""
    from harvest.store.fills import FillCounts
    from harvest.store.storage import Storage

    files = [f for f in _write(tmp_path) if f.startswith("records/")]
    reference = duckdb_report(tmp_path, files)
    known = {f: FillCounts.of_file(Storage(tmp_path), f).as_dict() for f in files}
    stale = dict(known)
    stale[files[0]] = {"live": 1, "filled": {"title": 1}}  # an older set of fields
    assert validation_report(tmp_path, files, stale) == reference
    for f in files:
        (tmp_path / f).write_bytes(b"not parquet")
    assert validation_report(tmp_path, files, known) == reference
