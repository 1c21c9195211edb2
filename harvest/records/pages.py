"""One ListRecords page → the Arrow tables its records become, with the page's counts.

The same function runs in the harvesting process (`map_page`, on the page it parsed) and in a
parse worker (`map_body`, on the page's bytes: a parsed tree cannot cross a process boundary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from harvest.crosswalk import Crosswalk, get_crosswalk
from harvest.errors import PageError
from harvest.oai.page import Page, parse_page, record_bytes
from harvest.records.rows import Lineage, map_record, quarantine_row
from harvest.records.tables import TABLES, ColumnBuffer

if TYPE_CHECKING:
    import pyarrow as pa

# (table, row): records and raw rows are tuples in their declared column order (RECORD_COLUMNS,
# RAW_COLUMNS), quarantine rows dicts
AddRow = Callable[[str, tuple | dict], None]


@dataclass
class PageTables:
    """What one page became: its rows per table (tables without rows left out) and its counts."""

    url: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    listed: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


@dataclass(frozen=True)
class PageSpec:
    """What a parse worker needs besides a page's bytes: whose page it is and how to map it."""

    source_id: str
    crosswalk: str
    lineage: Lineage


def map_items(
    items,
    crosswalk: Crosswalk,
    lin: Lineage,
    page_url: str | None,
    add: AddRow,
    result: PageTables,
    received: list[bytes] | None = None,
) -> None:
    """Map a page's <record>s into `add`, counting into `result`; `received`: their bytes in the
    page, in the same order (harvest.oai.page.record_bytes), when they could be cut out."""
    for record, xml in zip(items, received or [None] * len(items)):
        out = map_record(record, crosswalk, lin, page_url, xml)
        result.listed += 1
        if out.raw_values is not None:
            add("raw", out.raw_values)
        if out.values is not None:
            add("records", out.values)
            result.records += 1
            result.deleted += out.deleted
        if out.quarantine is not None:
            add("quarantine", out.quarantine)
            result.quarantined += 1


def _tables(url: str, fill: Callable[[AddRow, PageTables], None]) -> PageTables:
    buffers = {t: ColumnBuffer(t) for t in TABLES}
    result = PageTables(url)
    fill(lambda table, row: buffers[table].rows.append(row), result)
    result.tables = {t: b.take() for t, b in buffers.items() if len(b)}
    return result


def map_page(page: Page, crosswalk: Crosswalk, lin: Lineage) -> PageTables:
    """A parsed page's records as Arrow tables; a page that could not be read (`page.error`, its
    token salvaged) as one quarantine row holding its bytes."""
    if page.error is not None:
        return unreadable_page(page.error, lin)

    def fill(add: AddRow, result: PageTables) -> None:
        map_items(page.items, crosswalk, lin, page.url, add, result, record_bytes(page))

    return _tables(page.url, fill)


def unreadable_page(exc: PageError, lin: Lineage) -> PageTables:
    """An unreadable page as one quarantine row: URL, reason and the bytes as received."""

    def fill(add: AddRow, result: PageTables) -> None:
        add("quarantine", quarantine_row(lin, exc.url, None, exc.reason, exc.detail, exc.content))
        result.quarantined = 1

    return _tables(exc.url, fill)


@lru_cache(maxsize=64)
def _crosswalk(name: str) -> Crosswalk:
    return get_crosswalk(name)


def map_body(spec: PageSpec, body: bytes, url: str) -> PageTables:
    """A parse worker's task: one page's bytes → its tables. The harvesting process has already
    read the page (its token, its OAI errors), so what is left is its records."""
    try:
        page = parse_page(body, url, spec.source_id)
    except PageError as exc:
        exc.content = body
        return unreadable_page(exc, spec.lineage)
    return map_page(page, _crosswalk(spec.crosswalk), spec.lineage)
