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
mapping) are "References", as in oai_dc.
harvest.config.fieldmaps reads and checks a map; here it becomes a crosswalk.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from harvest.config.fieldmaps import FieldMapSpec, load_field_map_spec
from harvest.crosswalk.base import Crosswalk, Unmappable, Values, creator, dict_view, finish, local, text
from harvest.crosswalk.normalize import (
    normalise_language,
    normalise_license,
    normalise_resource_type,
    pick_license,
    year_of,
)

_URL = re.compile(r"^https?://\S+$", re.I)


@dataclass(frozen=True)
class FieldMap:
    """A checked field map (harvest.config.fieldmaps) as a crosswalk."""

    spec: FieldMapSpec

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def root(self):
        return self.spec.root

    @property
    def fields(self):
        return self.spec.fields

    @property
    def related(self):
        return self.spec.related

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
                return metadata  # handed the payload itself
            found = next((c for c in metadata.iterchildren() if isinstance(c.tag, str)), None)
            if found is None:
                raise Unmappable("wrong_format", "no element inside <metadata>")
            return found
        found = next(
            (r for r in self._run_raw(metadata, self.root) if isinstance(r, etree._Element) and isinstance(r.tag, str)),
            None,
        )
        if found is None:
            raise Unmappable(
                "wrong_format", f"no element matches root {self.root.path!r} of field map {Path(self.path).name}"
            )
        return found

    def _values(self, root, xpaths: tuple[etree.XPath, ...]) -> list[str]:
        return [v for xp in xpaths for v in self._run(root, xp)]

    def _run(self, root, xp: etree.XPath) -> list[str]:
        return [s for s in map(_string, self._run_raw(root, xp)) if s]

    def _run_raw(self, context, xp: etree.XPath) -> list:
        try:
            result = xp(context)
        except etree.XPathError as exc:  # a valid map cannot get here; keep the record anyway
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


def load_field_map(path: str | Path, name: str | None = None) -> Crosswalk:
    """Read, check and compile a YAML field map into a Crosswalk (version: see
    harvest.config.fieldmaps.load_field_map_spec). `name` defaults to the file's stem."""
    spec = load_field_map_spec(path)
    fmap = FieldMap(spec)
    return Crosswalk(name or Path(path).stem, spec.version, dict_view(fmap), fmap)
