"""Where things live: the sources folder, the data folder and the declared schemas."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # harvest/
PROJECT_DIR = PACKAGE_DIR.parent


def schemas_dir() -> Path:
    """The declared schemas: the repository's schemas/ (editable install) or the wheel's copy."""
    for candidate in (PROJECT_DIR / "schemas", PACKAGE_DIR / "_schemas"):
        if (candidate / "source.schema.json").exists():
            return candidate
    raise FileNotFoundError("schemas/ not found next to the harvest package")


def sources_dir() -> Path:
    """HARVEST_SOURCES, or ./sources."""
    return Path(os.environ.get("HARVEST_SOURCES", "sources"))


def data_dir() -> Path:
    """HARVEST_DATA, or ./data."""
    return Path(os.environ.get("HARVEST_DATA", "data"))
