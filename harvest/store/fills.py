"""The partner-facing validation report of a run: what was quarantined and why (with examples),
and how well each canonical field is filled. Written next to the run report, summarised in it.

The fill counts come from the records files' footers, where their writer put them as it wrote
(files from before that are read with pyarrow, one row group at a time, only the columns needed);
quarantine files are read the same way. Its memory is one row group's whatever the partner's
size, and it needs no DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

from harvest.config.schemas import declared
from harvest.store.storage import Storage, as_storage

DESCRIPTIVE = [
    f["name"]
    for f in declared("records")["fields"]
    if f["name"]
    not in (
        "source_id",
        "region",
        "oai_identifier",
        "datestamp",
        "deleted",
        "set_specs",
        "metadata_prefix",
        "run_id",
        "harvested_at",
        "crosswalk_version",
    )
]
LIST_FIELDS = {f["name"] for f in declared("records")["fields"] if isinstance(f["type"], dict)}
EXAMPLES = 3
_BATCH = 5000
_QUARANTINE_COLUMNS = ["reason", "oai_identifier", "detail", "page_url"]


# The fill counts of a records file, written into its Parquet footer (key-value metadata) by the
# writer that made it (harvest.store.PartitionWriter): the report then reads footers, not the
# records again. Files without it (written before it existed) are counted from their columns.
FILL_KEY = "gosc:fill_counts"


def _filled(col, is_list: bool) -> int:
    """How many values of a column are filled: not null and, for lists, not empty."""
    if not len(col):
        return 0
    if is_list:
        import pyarrow.compute as pc

        return pc.sum(pc.greater(pc.list_value_length(col), 0)).as_py() or 0
    return len(col) - col.null_count


class FillCounts:
    """Live records and, per descriptive field, how many of them have it filled: not null and, for
    lists, not empty. Counted per Arrow table or record batch, as they are written or read."""

    def __init__(self):
        self.live = 0
        self.filled = dict.fromkeys(DESCRIPTIVE, 0)

    def add(self, batch) -> None:
        """Count a table's live rows (`deleted` false; a null `deleted` is not live) and their
        filled fields: all rows are counted, then the few others are taken off, so the batch is
        never copied whole (filtering it to its live rows cost twice the counting)."""
        import pyarrow.compute as pc

        not_live = pc.fill_null(batch.column("deleted"), True)
        others = batch.filter(not_live) if pc.any(not_live).as_py() else None
        self.live += batch.num_rows - (others.num_rows if others is not None else 0)
        filled = self.filled
        for name in DESCRIPTIVE:
            n = _filled(batch.column(name), name in LIST_FIELDS)
            if others is not None:
                n -= _filled(others.column(name), name in LIST_FIELDS)
            filled[name] += n

    def merge(self, other: FillCounts) -> None:
        self.live += other.live
        for name, n in other.filled.items():
            self.filled[name] += n

    def as_dict(self) -> dict:
        return {"live": self.live, "filled": dict(self.filled)}

    def dumps(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def of_dict(cls, data: dict) -> FillCounts | None:
        """Counts stored by as_dict; None when they were taken over other fields than today's."""
        if set(data.get("filled", ())) != set(DESCRIPTIVE):
            return None
        counts = cls()
        counts.live, counts.filled = data["live"], dict(data["filled"])
        return counts

    @classmethod
    def of_file(cls, storage: Storage, rel: str) -> FillCounts:
        """From the file's footer when its writer put the counts there, else from its columns."""
        stored = (storage.read_metadata(rel).metadata or {}).get(FILL_KEY.encode())
        if stored is not None:
            counts = cls.of_dict(json.loads(stored))
            if counts is not None:  # same fields as now (else count again)
                return counts
        counts = cls()
        for batch in storage.iter_batches(rel, _BATCH, ["deleted", *DESCRIPTIVE]):
            counts.add(batch)
        return counts


def validation_report(storage: Storage | Path, files: list[str], known: dict[str, dict] | None = None) -> dict:
    """Fill rates over the run's live records and quarantine counts by reason, from its files:
    a field counts as filled when it is not null (and, for lists, not empty); quarantine reasons
    by count (then name), each with its first EXAMPLES rows by oai_identifier (nulls last).

    `known`: records files' fill counts as their writers reported them (FillCounts.as_dict, by
    the path in `files`); those files are not opened. A run whose records files are all known
    and that has no quarantine file is reported without pyarrow."""
    storage = as_storage(storage)
    known = known or {}
    records = [f for f in files if f.startswith("records/")]
    quarantine = [f for f in files if f.startswith("quarantine/")]
    report: dict = {"live_records": 0, "fill_rates": {}, "quarantine": {}}
    if records:
        total = FillCounts()
        for f in records:
            counts = FillCounts.of_dict(known[f]) if f in known else None
            total.merge(counts if counts is not None else FillCounts.of_file(storage, f))
        live = total.live
        report["live_records"] = live
        report["fill_rates"] = {c: round(total.filled[c] / live, 4) if live else 0.0 for c in DESCRIPTIVE}
    if quarantine:
        counts: dict[str, int] = {}
        examples: dict[str, list] = {}
        for path in quarantine:
            for batch in storage.iter_batches(path, _BATCH, _QUARANTINE_COLUMNS):
                for reason, oai_id, detail, url in zip(*(batch.column(c).to_pylist() for c in _QUARANTINE_COLUMNS)):
                    counts[reason] = counts.get(reason, 0) + 1
                    ex = examples.setdefault(reason, [])
                    ex.append({"oai_identifier": oai_id, "detail": detail, "page_url": url})
                    if len(ex) > 4 * EXAMPLES:  # keep the smallest few only: bounded memory
                        ex.sort(key=_example_order)
                        del ex[EXAMPLES:]
        for reason in sorted(counts, key=lambda r: (-counts[r], r is None, r or "")):
            report["quarantine"][reason] = {
                "count": counts[reason],
                "examples": sorted(examples[reason], key=_example_order)[:EXAMPLES],
            }
    return report


def _example_order(example: dict) -> tuple:
    oai_id = example["oai_identifier"]
    return (oai_id is None, oai_id or "")
