"""Source configs: one YAML file per partner, validated against schemas/source.schema.json on load.

Configs become small frozen dataclasses; every error names the file, the field and the bad value.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jsonschema

from harvest.config.credentials import Credentials, env_credentials
from harvest.config.fieldmaps import load_field_map_spec
from harvest.config.settings import schemas_dir
from harvest.config.yamlfile import read_yaml
from harvest.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Politeness:
    """How hard we may press a partner."""

    delay_seconds: float = 0.0
    max_concurrency: int = 2
    timeout_seconds: float = 60.0
    max_retries: int = 5
    max_retry_after_seconds: float = 600.0
    max_page_mb: float = 256.0  # a response larger than this (decoded) is refused, not read into memory


@dataclass(frozen=True)
class TaskSettings:
    """How an orchestrator runs this source's harvest: a resumed run continues from its checkpoint,
    so retrying is cheap."""

    retries: int = 2
    retry_delay_minutes: float = 5.0
    timeout_hours: float = 12.0


@dataclass(frozen=True)
class Source:
    """One partner repository, as its config file declares it."""

    id: str
    name: str
    region: str
    endpoint: str
    metadata_prefix: str
    path: str = ""
    crosswalk: str = ""
    field_map: str = ""  # absolute path of a YAML field map (harvest/crosswalk/fieldmap.py)
    sets: tuple[str, ...] = ()
    schedule: str | None = None
    priority: int = 50
    window: str = "year"
    deletion_census: str = "auto"
    politeness: Politeness = field(default_factory=Politeness)
    task: TaskSettings = field(default_factory=TaskSettings)
    contact: tuple[tuple[str, str], ...] = ()
    connection_id: str | None = None
    credentials_env: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def crosswalk_name(self) -> str:
        return self.field_map or self.crosswalk or self.metadata_prefix

    @property
    def contact_info(self) -> dict[str, str]:
        return dict(self.contact)

    def env_credentials(self) -> Credentials | None:
        """Credentials from the environment variables `credentials_env` names, or None."""
        return env_credentials(self.credentials_env, self.path) if self.credentials_env else None

    def resolved_endpoint(self) -> str:
        """The endpoint with ${VAR} / ${VAR:-default} expanded from the environment now."""
        return expand_env(self.endpoint, self.path, "endpoint")


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # on first validation only: the harvesting path does not need it (~15 MB)

    schema = json.loads((schemas_dir() / "source.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def expand_env(value: str, path: str, field_name: str) -> str:
    """Expand ${VAR} and ${VAR:-default}; an unset variable without default is a config error."""

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(path, field_name, f"environment variable {name} is not set ({value!r})")

    return _ENV_REF.sub(repl, value)


def _field_path(err: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", err.message)
        parts.append(missing.group(1) if missing else "?")
    if err.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", err.message)
        parts.append(extra[0] if extra else "?")
    return ".".join(parts) or "(top level)"


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "required":
        return "is required but missing"
    if err.validator == "additionalProperties":
        return "is not a known key (typo?)"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "pattern":
        return f"{err.instance!r} does not match {err.validator_value}"
    return f"{err.instance!r}: {err.message}"


def parse_source(data: object, path: str) -> Source:
    """Validate one loaded YAML document and build its Source."""
    if not isinstance(data, dict):
        raise ConfigError(path, None, f"expected a mapping of keys, got {type(data).__name__}")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first, rest = errors[0], errors[1:]
        more = "".join(f"; field '{_field_path(e)}': {_message(e)}" for e in rest)
        raise ConfigError(path, _field_path(first), _message(first) + more)
    stem = Path(path).stem
    if stem != data["id"]:
        raise ConfigError(path, "id", f"{data['id']!r} must match the file name {stem!r}")
    pol = Politeness(**data.get("politeness", {}))
    field_map = _field_map(data, path)
    return Source(
        id=data["id"],
        name=data["name"],
        region=data["region"],
        endpoint=data["endpoint"],
        metadata_prefix=data["metadata_prefix"],
        path=str(path),
        crosswalk=data.get("crosswalk", ""),
        field_map=field_map,
        sets=tuple(data.get("sets") or ()),
        schedule=data.get("schedule"),
        priority=int(data.get("priority", 50)),
        window=data.get("window", "year"),
        deletion_census=data.get("deletion_census", "auto"),
        politeness=pol,
        task=TaskSettings(**data.get("task", {})),
        contact=tuple(sorted((data.get("contact") or {}).items())),
        connection_id=data.get("connection_id"),
        credentials_env=data.get("credentials_env"),
        tags=tuple(data.get("tags") or ()),
    )


def _field_map(data: dict, path: str) -> str:
    """Resolve and check a source's field map now, so `sources check` reports a broken one."""
    value = data.get("field_map")
    if not value:
        return ""
    if data.get("crosswalk"):
        raise ConfigError(path, "field_map", "cannot be combined with 'crosswalk'")
    fm = Path(value) if Path(value).is_absolute() else Path(path).parent / value
    try:
        load_field_map_spec(fm)
    except ConfigError as exc:
        raise ConfigError(path, "field_map", str(exc)) from exc
    return str(fm.resolve())


def load_source(path: str | Path) -> Source:
    """Read and validate one source file."""
    path = Path(path)
    return parse_source(read_yaml(path)[1], str(path))


FIELD_MAP_DIR = "fieldmaps"  # field maps may live beside the sources, in a folder of this name


def source_files(folder: str | Path) -> list[Path]:
    """Every *.yaml / *.yml under the folder, recursively, in a stable order (not field maps)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(str(folder), None, "sources folder does not exist (set HARVEST_SOURCES)")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.is_file() and FIELD_MAP_DIR not in p.relative_to(folder).parts
    )


def check_sources(folder: str | Path) -> tuple[list[Source], list[ConfigError]]:
    """Load every source, collecting all errors instead of stopping at the first (for `sources check`)."""
    sources, problems, seen = [], [], {}
    for path in source_files(folder):
        try:
            src = load_source(path)
        except ConfigError as exc:
            problems.append(exc)
            continue
        if src.id in seen:
            problems.append(ConfigError(str(path), "id", f"{src.id!r} is already used by {seen[src.id]}"))
            continue
        seen[src.id] = str(path)
        sources.append(src)
    return sources, problems


def load_sources(folder: str | Path) -> list[Source]:
    """Load every source under the folder; the first invalid file or duplicate id raises."""
    sources, problems = check_sources(folder)
    if problems:
        raise problems[0]
    return sources
