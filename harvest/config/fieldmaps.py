"""Field maps: a partner's simple metadata format declared in YAML (see harvest.crosswalk.fieldmap
for what a map means). Here a map is read and checked: every mistake is a ConfigError naming the
file and the field (`fields.creators[1]`), before any record is mapped."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from harvest.config.yamlfile import read_yaml
from harvest.errors import ConfigError

FIELDS = (
    "title",
    "creators",
    "subjects",
    "description",
    "publisher",
    "publication_year",
    "resource_type",
    "language",
    "license",
    "identifiers",
    "related_identifiers",
    "landing_url",
)
REQUIRED = ("title", "identifiers")  # without them `finish` would quarantine every record
TOP_KEYS = ("namespaces", "root", "fields")
DERIVED = {"primary_pid": "it is chosen from 'identifiers'"}
DEFAULT_RELATION = "References"

_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_PROBE = etree.Element("probe")  # evaluating on it finds undefined prefixes and functions


@dataclass(frozen=True)
class FieldMapSpec:
    """A checked field map: its XPaths compiled, per field and per relation type."""

    path: str
    root: etree.XPath | None
    fields: dict[str, tuple[etree.XPath, ...]]
    related: tuple[tuple[str, etree.XPath], ...]
    version: str = ""


def _compile(expr: object, ns: dict[str, str], path: str, field: str) -> etree.XPath:
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(path, field, f"expected an XPath string, got {expr!r}")
    try:
        xp = etree.XPath(expr, namespaces=ns)
        xp(_PROBE)  # undefined namespace prefixes and functions show up here
    except etree.XPathError as exc:
        raise ConfigError(path, field, f"bad XPath {expr!r}: {exc}") from None
    return xp


def _xpaths(spec: object, ns: dict[str, str], path: str, field: str) -> tuple[etree.XPath, ...]:
    exprs = spec if isinstance(spec, list) else [spec]
    if not exprs:
        raise ConfigError(path, field, "expected an XPath or a non-empty list of XPaths, got []")
    return tuple(
        _compile(e, ns, path, f"{field}[{i}]" if isinstance(spec, list) else field) for i, e in enumerate(exprs)
    )


def _namespaces(data: object, path: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, "namespaces", f"expected a mapping of prefix: URI, got {type(data).__name__}")
    ns = {}
    for prefix, uri in data.items():
        if not isinstance(prefix, str) or not _NCNAME.match(prefix) or prefix.lower().startswith("xml"):
            raise ConfigError(path, f"namespaces.{prefix}", f"{prefix!r} is not a usable namespace prefix")
        if not isinstance(uri, str) or not uri.strip():
            raise ConfigError(path, f"namespaces.{prefix}", f"expected a namespace URI, got {uri!r}")
        ns[prefix] = uri.strip()
    return ns


def parse_field_map(data: object, path: str) -> FieldMapSpec:
    """Validate one loaded YAML document and compile its XPaths."""
    if not isinstance(data, dict):
        raise ConfigError(path, None, f"expected a mapping with 'fields', got {type(data).__name__}")
    for key in data:
        if key not in TOP_KEYS:
            hint = f"; did you mean fields.{key}?" if key in FIELDS else ""
            raise ConfigError(path, str(key), f"is not a known key (known: {', '.join(TOP_KEYS)}){hint}")
    ns = _namespaces(data.get("namespaces"), path)
    root = _compile(data["root"], ns, path, "root") if data.get("root") is not None else None
    fields = data.get("fields")
    if fields is None:
        raise ConfigError(path, "fields", "is required but missing")
    if not isinstance(fields, dict) or not fields:
        raise ConfigError(path, "fields", "expected a non-empty mapping of canonical field: XPath")
    for name in fields:
        if name not in FIELDS:
            why = DERIVED.get(name, f"known: {', '.join(FIELDS)}")
            raise ConfigError(path, f"fields.{name}", f"is not a canonical field a map can set ({why})")
    for name in REQUIRED:
        if fields.get(name) is None:
            raise ConfigError(path, f"fields.{name}", "is required: without it no record can be mapped")
    compiled, related = {}, []
    for name, spec in fields.items():
        if spec is None:
            raise ConfigError(path, f"fields.{name}", "expected an XPath or a list of XPaths, got nothing")
        if name == "related_identifiers" and isinstance(spec, dict):
            for relation, exprs in spec.items():
                if not isinstance(relation, str) or not _NCNAME.match(relation):
                    raise ConfigError(
                        path,
                        f"fields.related_identifiers.{relation}",
                        f"{relation!r} is not a relation type name (e.g. IsPartOf)",
                    )
                related += [(relation, xp) for xp in _xpaths(exprs, ns, path, f"fields.related_identifiers.{relation}")]
        elif name == "related_identifiers":
            related += [(DEFAULT_RELATION, xp) for xp in _xpaths(spec, ns, path, f"fields.{name}")]
        else:
            compiled[name] = _xpaths(spec, ns, path, f"fields.{name}")
    return FieldMapSpec(path, root, compiled, tuple(related))


def load_field_map_spec(path: str | Path) -> FieldMapSpec:
    """Read and check a YAML field map. Its version is `fieldmap:<file name>:<sha1 of the file, 8
    hex digits>`, so any edit to the map changes the crosswalk_version of the rows it writes."""
    path = Path(path)
    content, data = read_yaml(path)
    spec = parse_field_map(data, str(path))
    return FieldMapSpec(
        spec.path, spec.root, spec.fields, spec.related, f"fieldmap:{path.name}:{hashlib.sha1(content).hexdigest()[:8]}"
    )
