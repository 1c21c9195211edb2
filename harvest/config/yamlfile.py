"""Reading a YAML config file, with errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path

import yaml

from harvest.errors import ConfigError


def read_yaml(path: Path) -> tuple[bytes, object]:
    """A YAML file's bytes and content; errors name the file and the line."""
    try:
        content = path.read_bytes()
        return content, yaml.safe_load(content.decode("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), None, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), None, f"cannot be read: {exc}") from exc
