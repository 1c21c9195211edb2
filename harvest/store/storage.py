"""The one module that touches the data folder: paths in, bytes, JSON or Arrow out.

Every read and write of harvested data, state, checkpoints, run reports, plans and index
snapshots goes through a `Storage`, with paths relative to its root written with '/'. Today the
root is a local folder; another backend (object storage) is added here and nowhere else. What a
backend must give the rest of the library: atomic whole-file writes (temporary name, then rename),
a listing by glob pattern, and Parquet readers and writers. DuckDB reads the datasets through
`local`, the files' own paths.

pyarrow is imported on first use, not with the module: reading state and reports does not load it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq


class Storage:
    """A data folder: HARVEST_DATA (default ./data) or any other root."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Storage({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Storage) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # ---- names -------------------------------------------------------------------------------
    def local(self, rel: str) -> Path:
        """Where `rel` is on this machine (for readers that open files themselves: DuckDB)."""
        return self.root / rel

    def relative(self, path: str | Path) -> str:
        """A path under the root as this storage names it."""
        return Path(path).relative_to(self.root).as_posix()

    # ---- whole files ---------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def read_text(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def read_json(self, rel: str, default: object = FileNotFoundError) -> object:
        """A JSON file's content; `default` when it does not exist (FileNotFoundError: raise)."""
        try:
            return json.loads(self.read_text(rel))
        except FileNotFoundError:
            if default is FileNotFoundError:
                raise
            return default

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write through a temporary name, made durable, then renamed: readers see the old file or the
        new one, never half of it."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def write_text(self, rel: str, text: str) -> None:
        self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, payload: object) -> None:
        self.write_text(rel, json.dumps(payload, indent=2, ensure_ascii=False, default=str))

    def sha256(self, rel: str) -> str:
        h = hashlib.sha256()
        with open(self.root / rel, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    # ---- listing, moving, removing -------------------------------------------------------------
    def glob(self, pattern: str) -> list[str]:
        """Every file matching a glob pattern relative to the root, sorted."""
        return sorted(self.relative(p) for p in self.root.glob(pattern) if p.is_file())

    def dirs(self, rel: str) -> list[str]:
        """The names of the folders directly under `rel` (none when it does not exist)."""
        path = self.root / rel
        return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []

    def rename(self, src: str, dst: str) -> None:
        """Move a file or a folder into place in one step (a published name never shows half)."""
        (self.root / dst).parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / src, self.root / dst)

    def delete(self, rel: str) -> None:
        """Remove a file; nothing happens when it is already gone (or could never have been there:
        a folder on its path is a file)."""
        try:
            (self.root / rel).unlink(missing_ok=True)
        except NotADirectoryError:
            pass

    def delete_tree(self, rel: str) -> None:
        shutil.rmtree(self.root / rel, ignore_errors=True)

    @contextmanager
    def lock(self, rel: str) -> Iterator[None]:
        """Hold an exclusive lock named `rel` (one index builder at a time; readers take none)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    # ---- Parquet -----------------------------------------------------------------------------
    def parquet_writer(self, rel: str, schema: pa.Schema, **options) -> pq.ParquetWriter:
        """A Parquet writer creating `rel` (write it under a temporary name and `rename` it)."""
        import pyarrow.parquet as pq

        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return pq.ParquetWriter(path, schema, **options)

    def sync(self, rel: str) -> None:
        """Make a written file durable before it is renamed into place."""
        with open(self.root / rel, "rb") as fh:
            os.fsync(fh.fileno())

    def parquet_file(self, rel: str) -> pq.ParquetFile:
        """A Parquet file to read row group by row group. pyarrow pre-buffers by default, and
        iter_batches then reads every row group it will return up front: memory would grow with
        the file. Without it a reader holds one row group."""
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.root / rel, pre_buffer=False)

    def iter_batches(self, rel: str, batch_size: int, columns: list[str] | None = None):
        """A Parquet file's record batches, one row group read at a time."""
        return self.parquet_file(rel).iter_batches(batch_size=batch_size, columns=columns)

    def read_table(self, rel: str, **options) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.root / rel, **options)

    def read_metadata(self, rel: str) -> pq.FileMetaData:
        import pyarrow.parquet as pq

        return pq.read_metadata(self.root / rel)


def as_storage(where: Storage | str | Path) -> Storage:
    """A Storage for a data folder given as a path (the library's callers pass either)."""
    return where if isinstance(where, Storage) else Storage(where)
