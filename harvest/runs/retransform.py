"""Rebuild a source's records table from its raw layer with the current (or another) crosswalk,
without touching the network: a new crosswalk version reaches every record already harvested.

The new records and quarantine files are committed first; only then are the old ones removed.
The raw layer holds every record whose header could be read, quarantined ones included, so
records the old crosswalk could not map get another chance. Tombstones from a
deletion census (they have no raw XML) and page-level quarantine entries (unreadable pages have
no record to re-map) are carried over as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from harvest.config import Source
from harvest.config.schemas import arrow_schema
from harvest.crosswalk import get_crosswalk
from harvest.records.rows import Lineage, map_record
from harvest.runs.report import new_run_id
from harvest.store.datasets import committed_files
from harvest.store.storage import Storage, as_storage
from harvest.store.writers import ChunkWriter

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@dataclass
class RetransformReport:
    source_id: str
    run_id: str
    crosswalk_version: str
    records: int = 0
    deleted: int = 0
    quarantined: int = 0
    carried_over: int = 0
    files: list[str] | None = None


def retransform(
    source: Source, data_dir: Storage | Path | str, crosswalk_name: str | None = None, chunk_rows: int = 50_000
) -> RetransformReport:
    storage = as_storage(data_dir)
    crosswalk = get_crosswalk(crosswalk_name or source.crosswalk_name)
    run_id = f"{new_run_id()}-rx"
    old = {t: committed_files(storage, t, source.id) for t in ("records", "quarantine")}
    raw_files = committed_files(storage, "raw", source.id)
    rep = RetransformReport(source.id, run_id, crosswalk.version, files=[])
    writer = ChunkWriter(storage, source.region, source.id, run_id)
    base = Lineage(source.id, source.region, source.metadata_prefix, "", datetime.now(UTC), crosswalk.version)
    try:
        for path in raw_files:
            for batch in storage.iter_batches(path, 5_000):
                for row in batch.to_pylist():
                    _remap(row, crosswalk, base, writer, rep)
                if writer.pending_rows >= chunk_rows:
                    rep.files += writer.commit()
        _carry_over(storage, old, writer, rep)
        rep.files += writer.commit()
    except BaseException:
        writer.abort()
        for rel in rep.files:
            storage.delete(rel)
        raise
    for paths in old.values():
        for rel in paths:
            storage.delete(rel)
    return rep


def _remap(row: dict, crosswalk, base: Lineage, writer: ChunkWriter, rep: RetransformReport) -> None:
    lin = replace(base, run_id=row["run_id"], harvested_at=row["harvested_at"])
    record = etree.fromstring(row["xml"], _PARSER)
    out = map_record(record, crosswalk, lin, page_url=None)
    if out.row is not None:
        writer.add("records", out.row)
        rep.records += 1
        rep.deleted += out.deleted
    if out.quarantine is not None:
        writer.add("quarantine", out.quarantine)
        rep.quarantined += 1


def _carry_over(storage: Storage, old: dict, writer: ChunkWriter, rep: RetransformReport) -> None:
    """Census tombstones and page-level quarantine rows have no raw XML: keep them as they are."""
    schema = arrow_schema("records", with_partitions=False)
    for path in old["records"]:
        table = storage.read_table(path, schema=schema, filters=[("crosswalk_version", "==", "census/1")])
        for row in table.to_pylist():
            writer.add("records", row)
            rep.carried_over += 1
            rep.deleted += 1
    qschema = arrow_schema("quarantine", with_partitions=False)
    for path in old["quarantine"]:
        for row in storage.read_table(path, schema=qschema).to_pylist():
            if row["oai_identifier"] is None:
                writer.add("quarantine", row)
                rep.carried_over += 1
