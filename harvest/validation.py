"""The partner-facing validation report of a run: what was quarantined and why (with examples),
and how well each canonical field is filled. Written next to the run report, summarised in it."""
from __future__ import annotations

from pathlib import Path

import duckdb

from harvest.schema import declared

DESCRIPTIVE = [f["name"] for f in declared("records")["fields"]
               if f["name"] not in ("source_id", "region", "oai_identifier", "datestamp", "deleted", "set_specs",
                                    "metadata_prefix", "run_id", "harvested_at", "crosswalk_version")]
LIST_FIELDS = {f["name"] for f in declared("records")["fields"] if isinstance(f["type"], dict)}
EXAMPLES = 3


def validation_report(data_dir: Path, files: list[str]) -> dict:
    """Fill rates over the run's live records and quarantine counts by reason, from its files."""
    data_dir = Path(data_dir)
    records = [str(data_dir / f) for f in files if f.startswith("records/")]
    quarantine = [str(data_dir / f) for f in files if f.startswith("quarantine/")]
    report: dict = {"live_records": 0, "fill_rates": {}, "quarantine": {}}
    # one thread and a small budget: the report scans every file of the run, and its memory must
    # not grow with the partner's size (the harvest itself is flat)
    con = duckdb.connect(config={"threads": 1, "memory_limit": "128MB", "preserve_insertion_order": False})
    try:
        if records:
            filled = ", ".join(
                f"avg(CASE WHEN {c} IS NOT NULL AND len({c}) > 0 THEN 1 ELSE 0 END)" if c in LIST_FIELDS
                else f"avg(CASE WHEN {c} IS NOT NULL THEN 1 ELSE 0 END)" for c in DESCRIPTIVE)
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
    finally:
        con.close()
    return report
