"""The checkpoint of an unfinished run: its plan, how far each unit got, and what it committed.

It is saved in the source's state (`in_progress`) after every committed chunk, so a run killed at
any moment resumes from it with every record exactly once: finished units are not fetched again,
the open one continues from its last committed resumptionToken. Saved with a version; a
checkpoint of an older version is read when it can be, refused with a clear message when not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from harvest.errors import HarvestError

VERSION = 2
COUNTERS = ("pages", "records", "deleted", "quarantined", "listed")


@dataclass
class Unit:
    """One (set, window) list request: the unit of checkpointing, retry and re-slicing."""

    set_spec: str | None
    from_: str | None
    until: str | None
    status: str = "pending"  # pending | active | done | failed
    token: str | None = None  # resumptionToken after the last committed page
    chunks: list[str] = field(default_factory=list)
    attempts: int = 0
    complete_list_size: int | None = None
    pages: int = 0
    records: int = 0
    deleted: int = 0
    quarantined: int = 0
    listed: int = 0  # records listed by the server (mapped or quarantined)
    error: str | None = None

    @property
    def label(self) -> str:
        span = f"{self.from_ or '*'}..{self.until or '*'}"
        return f"{self.set_spec}:{span}" if self.set_spec else span

    def params(self, metadata_prefix: str) -> dict:
        """The ListRecords arguments that continue this unit."""
        if self.token:
            return {"resumptionToken": self.token}
        return {"metadataPrefix": metadata_prefix, "set": self.set_spec, "from": self.from_, "until": self.until}

    def restart(self) -> list[str]:
        """Start the unit over: its counts cleared; the files it had committed, to delete."""
        files, self.chunks, self.token = self.chunks, [], None
        for name in COUNTERS:
            setattr(self, name, 0)
        return files

    def report(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "chunks"}


@dataclass
class Transferred:
    """What earlier attempts of the run sent and waited (the report sums every attempt)."""

    requests: int = 0
    retries: int = 0
    bytes: int = 0
    wait_seconds: float = 0.0


@dataclass
class Checkpoint:
    """A run's plan and progress. `ranged` runs (a date range, a subset of sets, a planned window)
    never move the watermark; `full` runs replace what came before once complete."""

    run_id: str
    metadata_prefix: str
    started_at: str
    granularity: str
    watermark_after: str | None
    deleted_record: str | None = None
    earliest_datestamp: str | None = None
    full: bool = False
    ranged: bool = False
    units: list[Unit] = field(default_factory=list)
    next_chunk: int = 0
    transferred: Transferred = field(default_factory=Transferred)
    errors: list[str] = field(default_factory=list)  # what the run owns so far (a resumed one too)
    warnings: list[str] = field(default_factory=list)
    version: int = VERSION

    @property
    def files(self) -> list[str]:
        return sorted(c for u in self.units for c in u.chunks)

    def next_unit(self) -> Unit | None:
        return next((u for u in self.units if u.status in ("pending", "active")), None)

    def all_done(self) -> bool:
        return all(u.status == "done" for u in self.units)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: str) -> Checkpoint:
        """A saved checkpoint, of this version or the first (a dict of 14 keys, no version);
        HarvestError naming `where` for anything else."""
        data = dict(data)
        version = data.pop("version", 1)
        if version == 1:
            data["transferred"] = data.pop("transfer", None) or {}
        elif version != VERSION:
            raise HarvestError(
                f"{where}: the checkpoint of run {data.get('run_id')} has version {version}, "
                f"which this gosc-harvest does not know (it reads 1 and {VERSION}); "
                "run `harvest run --restart` to start that source's harvest over"
            )
        known = {f.name for f in fields(cls)}
        try:
            units = [Unit(**u) for u in data.pop("units")]
            transferred = Transferred(**data.pop("transferred"))
            return cls(**{k: v for k, v in data.items() if k in known}, units=units, transferred=transferred)
        except (KeyError, TypeError) as exc:
            raise HarvestError(
                f"{where}: the checkpoint of run {data.get('run_id')} cannot be read ({exc}); "
                "run `harvest run --restart` to start that source's harvest over"
            ) from None
