"""A part: consecutive pages of one list, turned into the sealed Parquet files of one chunk.

A part is the task a parse worker runs (or the harvesting process itself, with no workers): the
pages' bytes in, the chunk's records, raw and quarantine files out, written under their temporary
names and made durable. The harvesting process renames them into place in list order and only
then checkpoints the token after the part's last page, so a kill at any moment loses nothing and
keeps nothing twice. Workers write what they map: rows never cross a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harvest.errors import HarvestError, PageError
from harvest.records.pages import PageSpec, map_body, unreadable_page
from harvest.records.rows import Lineage
from harvest.records.tables import TABLES
from harvest.store.datasets import partition_dir
from harvest.store.storage import Storage
from harvest.store.writers import PartitionWriter


@dataclass(frozen=True)
class PartSpec:
    """What every part of a run shares: whose pages they are, how to map them, where they go."""

    source_id: str
    region: str
    crosswalk: str
    lineage: Lineage
    storage: Storage

    def chunk_name(self, seq: int) -> str:
        return f"{self.lineage.run_id}-{seq:05d}"

    def temporary_files(self, seq: int) -> list[str]:
        """Where a part's files are while it is written (harvest.store.writers.PartitionWriter)."""
        name = self.chunk_name(seq)
        return [f"{partition_dir(t, self.region, self.source_id)}/.part-{name}.parquet.tmp" for t in TABLES]


@dataclass
class PartPage:
    """One page of a part: its bytes as received, and for a page the harvesting process could not
    read (its token salvaged from the bytes), why: (reason, detail)."""

    url: str
    body: bytes | None
    unreadable: tuple[str, str] | None = None


@dataclass
class Written:
    """What a part became: its sealed files as (temporary, final) names, the records files' fill
    counts by final name, and its counts."""

    seq: int
    files: list[tuple[str, str]] = field(default_factory=list)
    fills: dict[str, dict] = field(default_factory=dict)
    listed: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0


def write_part(spec: PartSpec, seq: int, pages: list[PartPage]) -> Written:
    """Map a part's pages and write its files, sealed under their temporary names; nothing is
    left behind when it fails."""
    page_spec = PageSpec(spec.source_id, spec.crosswalk, spec.lineage)
    name = spec.chunk_name(seq)
    writers = {t: PartitionWriter(spec.storage, t, spec.region, spec.source_id, name) for t in TABLES}
    out = Written(seq)
    try:
        for page in pages:
            if page.unreadable is None:
                tables = map_body(page_spec, page.body, page.url)
            else:
                exc = PageError(page.unreadable[0], page.url, spec.source_id, page.unreadable[1])
                exc.content = page.body
                tables = unreadable_page(exc, spec.lineage)
            for table, rows in tables.tables.items():
                writers[table].add_table(rows)
            out.listed += tables.listed
            out.records += tables.records
            out.deleted += tables.deleted
            out.quarantined += tables.quarantined
        for writer in writers.values():
            if writer.seal() is not None:
                out.files.append((writer.tmp, writer.final))
                if writer.fill_counts() is not None:
                    out.fills[writer.final] = writer.fill_counts()
    except BaseException as exc:
        for writer in writers.values():
            writer.abort()
        if isinstance(exc, OSError):  # a full disk, a folder that is not one: the operator's to mend
            raise HarvestError(
                f"[{spec.source_id}] could not write chunk {seq} of run {spec.lineage.run_id}: {exc} "
                "(mend the data folder, then run again)"
            ) from None
        raise
    finally:
        _release_arrow_memory()
    return out


def _release_arrow_memory() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system: it holds about twice
    a part's largest tables otherwise, in every worker, for as long as the worker lives."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
