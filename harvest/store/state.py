"""Per-source harvesting state: the watermark of the last complete harvest, in the server's terms.

The watermark is the provider's own responseDate at the start of the last complete harvest (not
our clock), re-sent in the granularity Identify declares, minus a small overlap so that records
stamped during the previous harvest are not skipped. Records re-sent in the overlap are harmless:
consolidation keeps one row per (source, identifier).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from harvest.oai.datestamps import DAY, format_for, parse_utc
from harvest.store.storage import Storage, as_storage

OVERLAP_SECONDS = timedelta(hours=1)
OVERLAP_DAYS = timedelta(days=1)


@dataclass
class SourceState:
    source_id: str
    watermark: str | None = None  # responseDate at the start of the last complete harvest
    granularity: str | None = None
    last_run_id: str | None = None
    last_status: str | None = None
    in_progress: dict | None = None  # the checkpoint of an unfinished run (harvest.runs.checkpoint)

    def next_from(self, granularity: str) -> str | None:
        """The `from` of the next incremental harvest: watermark minus overlap, in `granularity`."""
        if not self.watermark:
            return None
        wm = parse_utc(self.watermark)
        return format_for(wm - (OVERLAP_DAYS if granularity == DAY else OVERLAP_SECONDS), granularity)


def state_file(source_id: str) -> str:
    """Where a source's state lives in the data folder (a planned window's id names a subfolder)."""
    return f"state/{source_id}.json"


def load_state(storage: Storage | Path, source_id: str) -> SourceState:
    data = as_storage(storage).read_json(state_file(source_id), None)
    return SourceState(**data) if data is not None else SourceState(source_id)


def save_state(storage: Storage | Path, state: SourceState) -> None:
    as_storage(storage).write_json(state_file(state.source_id), asdict(state))


def delete_state(storage: Storage, source_id: str) -> None:
    storage.delete(state_file(source_id))
