"""Crosswalks declared in YAML: a partner adds a simple metadata format without writing code.

A field map names the format's namespaces, optionally where its root element sits inside
<metadata>, and one XPath (or a list of XPaths, tried in order) per canonical field:

    namespaces:
      qdc: http://epubs.cclrc.ac.uk/xmlns/qdc/
      dcterms: http://purl.org/dc/terms/
    root: qdc:qualifieddc              # relative to <metadata>; default: its first child element
    fields:
      title: dcterms:title
      creators: [dcterms:creator, dcterms:contributor]
      publication_year: [dcterms:issued, dcterms:date]
      identifiers: dcterms:identifier
      related_identifiers:             # a mapping gives the DataCite relationType per XPath
        IsPartOf: dcterms:isPartOf
        References: dcterms:references

XPaths are evaluated relative to the root and may select elements (their whitespace-normalised
text), attributes or text nodes, or compute strings. Single-valued fields take the first value
(XPaths in the order given, values in document order) that their normaliser accepts; list fields
take every value; `license` picks the best of all its values (pick_license). Every value goes
through the normalisers the built-in crosswalks use, and the row through `finish`, so a field map
quarantines a record for the same reasons (missing_title, missing_identifier) they do; a map must
therefore set `title` and `identifiers`. `related_identifiers` given as an XPath or a list (not a
mapping) are "References", as in oai_dc. `load_field_map` reports every mistake as a ConfigError
naming the file and the field (`fields.creators[1]`), before any record is mapped.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from harvest.crosswalk.base import Crosswalk, Unmappable, Values, creator, dict_view, finish, local, text
from harvest.crosswalk.normalize import (
    normalise_language, normalise_license, normalise_resource_type, pick_license, year_of,
)
from harvest.errors import ConfigError

FIELDS = ("title", "creators", "subjects", "description", "publisher", "publication_year",
          "resource_type", "language", "license", "identifiers", "related_identifiers", "landing_url")
REQUIRED = ("title", "identifiers")          # without them `finish` would quarantine every record
TOP_KEYS = ("namespaces", "root", "fields")
DERIVED = {"primary_pid": "it is chosen from 'identifiers'"}
DEFAULT_RELATION = "References"

_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_URL = re.compile(r"^https?://\S+$", re.I)
_PROBE = etree.Element("probe")              # evaluating on it finds undefined prefixes and functions


@dataclass(frozen=True)
class FieldMap:
    """A loaded and compiled field map: XPaths per field, related ones per relation type."""

    path: str
    root: etree.XPath | None
    fields: dict[str, tuple[etree.XPath, ...]]
    related: tuple[tuple[str, etree.XPath], ...]

    def __call__(self, metadata) -> Values:
        root = self._root(metadata)
        values = {name: self._values(root, xpaths) for name, xpaths in self.fields.items()}
        related = [(relation, v, None) for relation, xp in self.related for v in self._run(root, xp)]
        landing, _ = _first(values.get("landing_url"), lambda v: v if _URL.match(v) else None)
        rtype, rtype_raw = _first(values.get("resource_type"), normalise_resource_type)
        language, language_raw = _first(values.get("language"), normalise_language)
        licenses = values.get("license", [])
        license = pick_license(licenses)
        license_raw = next((v for v in licenses if license and normalise_license(v) == license), None)
        return finish(
            title=_first(values.get("title"), str)[0],
            creators=[creator(n) for n in values.get("creators", [])],
            subjects=values.get("subjects", []),
            description=_first(values.get("description"), str)[0],
            publisher=_first(values.get("publisher"), str)[0],
            year=_first(values.get("publication_year"), year_of)[0],
            resource_type=rtype,
            language=language,
            license=license,
            raw_identifiers=[(v, None) for v in values.get("identifiers", [])],
            landing_url=landing,
            related=related,
            originals={"resource_type": rtype_raw, "language": language_raw, "license": license_raw},
        )

    def _root(self, metadata):
        if self.root is None:
            if local(metadata.tag) != "metadata":
                return metadata               # handed the payload itself
            found = next((c for c in metadata.iterchildren() if isinstance(c.tag, str)), None)
            if found is None:
                raise Unmappable("wrong_format", "no element inside <metadata>")
            return found
        found = next((r for r in self._run_raw(metadata, self.root) if isinstance(r, etree._Element)
                      and isinstance(r.tag, str)), None)
        if found is None:
            raise Unmappable("wrong_format", f"no element matches root {self.root.path!r} "
                                             f"of field map {Path(self.path).name}")
        return found

    def _values(self, root, xpaths: tuple[etree.XPath, ...]) -> list[str]:
        return [v for xp in xpaths for v in self._run(root, xp)]

    def _run(self, root, xp: etree.XPath) -> list[str]:
        return [s for s in map(_string, self._run_raw(root, xp)) if s]

    def _run_raw(self, context, xp: etree.XPath) -> list:
        try:
            result = xp(context)
        except etree.XPathError as exc:   # a valid map cannot get here; keep the record anyway
            raise Unmappable("xpath_error", f"{xp.path!r} of {Path(self.path).name}: {exc}") from None
        return result if isinstance(result, list) else [result]


def _string(value) -> str | None:
    """One XPath result as whitespace-normalised text (None for namespace nodes, booleans, NaN)."""
    if isinstance(value, etree._Element):
        return text(value)
    if isinstance(value, bool) or isinstance(value, tuple):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return None


def _first(values: list[str] | None, normalise) -> tuple[object, str | None]:
    """The first value the normaliser accepts, normalised, and as the partner wrote it."""
    for v in values or ():
        out = normalise(v)
        if out:
            return out, v
    return None, None


def _compile(expr: object, ns: dict[str, str], path: str, field: str) -> etree.XPath:
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(path, field, f"expected an XPath string, got {expr!r}")
    try:
        xp = etree.XPath(expr, namespaces=ns)
        xp(_PROBE)                       # undefined namespace prefixes and functions show up here
    except etree.XPathError as exc:
        raise ConfigError(path, field, f"bad XPath {expr!r}: {exc}") from None
    return xp


def _xpaths(spec: object, ns: dict[str, str], path: str, field: str) -> tuple[etree.XPath, ...]:
    exprs = spec if isinstance(spec, list) else [spec]
    if not exprs:
        raise ConfigError(path, field, "expected an XPath or a non-empty list of XPaths, got []")
    return tuple(_compile(e, ns, path, f"{field}[{i}]" if isinstance(spec, list) else field)
                 for i, e in enumerate(exprs))


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


def parse_field_map(data: object, path: str) -> FieldMap:
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
                    raise ConfigError(path, f"fields.related_identifiers.{relation}",
                                      f"{relation!r} is not a relation type name (e.g. IsPartOf)")
                related += [(relation, xp) for xp in
                            _xpaths(exprs, ns, path, f"fields.related_identifiers.{relation}")]
        elif name == "related_identifiers":
            related += [(DEFAULT_RELATION, xp) for xp in _xpaths(spec, ns, path, f"fields.{name}")]
        else:
            compiled[name] = _xpaths(spec, ns, path, f"fields.{name}")
    return FieldMap(path, root, compiled, tuple(related))


def load_field_map(path: str | Path, name: str | None = None) -> Crosswalk:
    """Read, validate and compile a YAML field map into a Crosswalk.

    Its version is `fieldmap:<file name>:<sha1 of the file, 8 hex digits>`, so any edit to the map
    changes the crosswalk_version of the rows it writes. `name` defaults to the file's stem."""
    from harvest.config import read_yaml   # config imports this module lazily; no cycle at import

    path = Path(path)
    content, data = read_yaml(path)
    fmap = parse_field_map(data, str(path))
    version = f"fieldmap:{path.name}:{hashlib.sha1(content).hexdigest()[:8]}"
    return Crosswalk(name or path.stem, version, dict_view(fmap), fmap)
