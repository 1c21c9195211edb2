"""One fetched ListRecords page → its records mapped into a sink, with the page's bookkeeping."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harvest.crosswalk import Crosswalk
from harvest.errors import PageError
from harvest.oai.page import parse_page, record_bytes
from harvest.records.rows import Lineage, map_record, quarantine_row

# ---- one page, mapped into a sink: the same code in the harvesting process and in parse workers --
# (table, row): records and raw rows are tuples in their declared column order (RECORD_COLUMNS,
# RAW_COLUMNS), quarantine rows dicts; harvest.store's writers take either
AddRow = Callable[[str, tuple | dict], None]


@dataclass
class PageResult:
    """What became of one fetched page: its list bookkeeping and the rows it added to the sink."""

    url: str
    token: str | None = None
    complete_list_size: int | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)   # OAI-PMH <error>s, noRecordsMatch aside
    error: tuple[str, str] | None = None     # (reason, detail) of an unreadable page (quarantined)
    illegal_chars_removed: int = 0
    listed: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0


def map_items(items, crosswalk: Crosswalk, lin: Lineage, page_url: str | None, add: AddRow,
              result: PageResult, received: list[bytes] | None = None) -> None:
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


def map_page(content: bytes, url: str, source_id: str, crosswalk: Crosswalk, lin: Lineage,
             add: AddRow) -> PageResult:
    """Parse one ListRecords body and map its records. An unreadable page becomes one quarantine
    row (URL, reason, the bytes as received) and `error`; a page with an OAI-PMH <error> adds
    nothing and reports `errors` (noRecordsMatch is an empty, final page), as OAIClient.read does."""
    try:
        page = parse_page(content, url, source_id)
    except PageError as exc:
        add("quarantine", quarantine_row(lin, url, None, exc.reason, exc.detail, content))
        return PageResult(url, error=(exc.reason, exc.detail), quarantined=1)
    result = PageResult(url, token=page.token, complete_list_size=page.complete_list_size,
                        illegal_chars_removed=page.illegal_chars_removed)
    if page.errors:
        result.token = None
        if page.errors[0][0] != "noRecordsMatch":
            result.errors = list(page.errors)
        return result
    map_items(page.items, crosswalk, lin, url, add, result, record_bytes(page))
    return result


