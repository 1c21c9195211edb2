"""Per-source harvesting state: the watermark of the last complete harvest, in the server's terms.

The watermark is the provider's own responseDate at the start of the last complete harvest (not
our clock), re-sent in the granularity Identify declares, minus a small overlap so that records
stamped during the previous harvest are not skipped. Records re-sent in the overlap are harmless:
consolidation keeps one row per (source, identifier).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from harvest.oai.datestamps import DAY, format_for, parse_utc

OVERLAP_SECONDS = timedelta(hours=1)
OVERLAP_DAYS = timedelta(days=1)


@dataclass
class SourceState:
    source_id: str
    watermark: str | None = None          # responseDate at the start of the last complete harvest
    granularity: str | None = None
    last_run_id: str | None = None
    last_status: str | None = None
    in_progress: dict | None = None       # the checkpoint of an unfinished run (see pipeline.Harvest)

    def next_from(self, granularity: str) -> str | None:
        """The `from` of the next incremental harvest: watermark minus overlap, in `granularity`."""
        if not self.watermark:
            return None
        wm = parse_utc(self.watermark)
        return format_for(wm - (OVERLAP_DAYS if granularity == DAY else OVERLAP_SECONDS), granularity)


def state_path(data_dir: Path, source_id: str) -> Path:
    return Path(data_dir) / "state" / f"{source_id}.json"


def load_state(data_dir: Path, source_id: str) -> SourceState:
    path = state_path(data_dir, source_id)
    if not path.exists():
        return SourceState(source_id)
    return SourceState(**json.loads(path.read_text()))


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON via a temporary file and rename: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, ensure_ascii=False, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_state(data_dir: Path, state: SourceState) -> None:
    write_json_atomic(state_path(data_dir, state.source_id), asdict(state))
