"""Deletion census for providers that do not keep deleted records (Identify deletedRecord = no or
transient): list every identifier, and tombstone the records we hold that are no longer listed.

Nothing is tombstoned on partial evidence: the census must list to the end, and a census that
would delete more than half of what we hold is refused as a provider fault, not believed.
"""

from __future__ import annotations

from datetime import datetime

from harvest.config import Source
from harvest.errors import ProtocolError
from harvest.oai import list_pages
from harvest.oai.datestamps import parse_utc
from harvest.oai.page import OAI_NS
from harvest.records.rows import Lineage
from harvest.store.datasets import committed_files
from harvest.store.storage import Storage
from harvest.store.writers import ChunkWriter

_Q = "{%s}" % OAI_NS
MAX_VANISHED_SHARE = 0.5


def census_wanted(source: Source, deleted_record: str | None) -> bool:
    """Whether a complete, unranged run takes a deletion census: the config says so, or Identify's
    deletedRecord says the provider does not keep deletions (no, transient)."""
    mode = source.deletion_census
    return mode != "never" and (mode == "always" or deleted_record in ("no", "transient"))


def take_census(
    client, source: Source, storage: Storage, lineage: Lineage, fallback_date: str | None
) -> tuple[list[str], int]:
    """Tombstone what the provider no longer lists, in files of their own
    (`part-<run>-census-00000.parquet`); the files and how many tombstones they hold."""
    rows = tombstones_for_vanished(client, source, storage, lineage, fallback_date)
    writer = ChunkWriter(storage, source.region, source.id, f"{lineage.run_id}-census")
    for row in rows:
        writer.add("records", row)
    return writer.commit(), len(rows)


def tombstones_for_vanished(
    client, source: Source, storage: Storage, lineage: Lineage, fallback_date: str | None
) -> list[dict]:
    import duckdb  # here, not with the module: a harvest that takes no census never loads it

    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE census(oai_identifier VARCHAR)")
        census_date = _list_identifiers(client, source, con) or fallback_date
        files = [str(storage.local(f)) for f in committed_files(storage, "records", source.id)]
        if not files:
            return []
        vanished, known = con.execute(f"""
            WITH latest AS (
                SELECT oai_identifier, deleted FROM read_parquet({files!r})
                QUALIFY row_number() OVER (PARTITION BY oai_identifier
                                           ORDER BY datestamp DESC, harvested_at DESC, deleted DESC) = 1),
            live AS (SELECT oai_identifier FROM latest WHERE NOT deleted)
            SELECT (SELECT list(oai_identifier ORDER BY oai_identifier) FROM live
                    WHERE oai_identifier NOT IN (SELECT oai_identifier FROM census)),
                   (SELECT count(*) FROM live)""").fetchall()[0]
    finally:
        con.close()
    vanished = vanished or []
    if known and len(vanished) > MAX_VANISHED_SHARE * known:
        raise ProtocolError(
            f"[{source.id}] deletion census lists {known - len(vanished)} of {known} records "
            f"we hold; refusing to tombstone {len(vanished)} on that evidence"
        )
    when = parse_utc(census_date) if census_date else lineage.harvested_at
    return [_tombstone(oai_id, when, lineage) for oai_id in vanished]


def _list_identifiers(client, source, con) -> str | None:
    """Stream every live identifier into the census table; returns the first page's responseDate."""
    import pyarrow as pa

    first_date = None
    for set_spec in source.sets or (None,):
        params = {"metadataPrefix": source.metadata_prefix, "set": set_spec}
        for page in list_pages(client, "ListIdentifiers", params):
            first_date = first_date or page.response_date
            ids = [
                h.findtext(_Q + "identifier").strip()
                for h in page.items
                if h.get("status") != "deleted" and h.findtext(_Q + "identifier")
            ]
            if ids:
                batch = pa.table({"oai_identifier": ids})
                con.register("batch", batch)
                con.execute("INSERT INTO census SELECT oai_identifier FROM batch")
                con.unregister("batch")
    return first_date


def _tombstone(oai_id: str, when: datetime, lin: Lineage) -> dict:
    return {
        "oai_identifier": oai_id,
        "datestamp": when,
        "deleted": True,
        "set_specs": [],
        "metadata_prefix": lin.metadata_prefix,
        "creators": [],
        "subjects": [],
        "identifiers": [],
        "related_identifiers": [],
        "run_id": lin.run_id,
        "harvested_at": lin.harvested_at,
        "crosswalk_version": "census/1",
    }
