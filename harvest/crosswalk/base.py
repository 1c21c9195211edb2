"""The crosswalk registry and the shared finishing step every crosswalk ends with.

A crosswalk is a pure function from the lxml <metadata> payload element to a `Mapped` dict of the
descriptive fields of schemas/records.schema.json (struct values as dicts). It raises `Unmappable`
when a record cannot be mapped; the harvester then quarantines the record with that reason.

The built-in crosswalks are written in the harvester's own form, `Values`: the same fields as a
tuple in the schema's column order, struct values as tuples in their fields' order (what pyarrow
builds its columns from, with no dict per record, creator or identifier to make and read back).
`register(..., values=True)` registers such a function; its `Crosswalk.fn` is then the dict view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harvest.config.schemas import declared
from harvest.crosswalk.normalize import best_pid, classify_identifier, pid_string, pid_url
from harvest.errors import HarvestError

Mapped = dict
Values = tuple


def _struct_fields() -> dict[str, tuple[str, ...]]:
    """The records columns that are lists of structs, with their fields in declared order."""
    return {
        f["name"]: tuple(s["name"] for s in f["type"]["list"]["struct"])
        for f in declared("records")["fields"]
        if isinstance(f["type"], dict) and isinstance(f["type"].get("list"), dict) and "struct" in f["type"]["list"]
    }


STRUCTS = _struct_fields()
# the descriptive columns, in the order finish() returns them; harvest.records checks it against
# the declared schema at import
VALUE_FIELDS = (
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
    "primary_pid",
    "landing_url",
    "related_identifiers",
    "originals",
)
if STRUCTS != {
    "creators": ("name", "family_name", "orcid", "affiliation"),
    "identifiers": ("scheme", "value"),
    "related_identifiers": ("relation", "scheme", "value"),
    "originals": ("field", "value"),
}:
    raise ImportError("schemas/records.schema.json changed a struct's fields: update harvest.crosswalk.base")
_STRUCT_AT = [(VALUE_FIELDS.index(name), fields) for name, fields in STRUCTS.items()]


def as_mapped(values: Values) -> Mapped:
    """The dict view of a `Values` tuple: field → value, struct tuples as dicts (a struct that is
    a dict already is kept)."""
    out = dict(zip(VALUE_FIELDS, values))
    for i, fields in _STRUCT_AT:
        items = values[i]
        if items:
            out[VALUE_FIELDS[i]] = [dict(zip(fields, x)) if x.__class__ is tuple else x for x in items]
    return out


class Unmappable(HarvestError):
    """A record that cannot become a canonical row; `reason` is a short code for reports."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Crosswalk:
    """`fn` maps a <metadata> element to a Mapped dict; `values`, where the crosswalk is written in
    that form, to its Values tuple (what the harvester calls when it is there)."""

    name: str
    version: str
    fn: Callable[[object], Mapped]
    values: Callable[[object], Values] | None = None


REGISTRY: dict[str, Crosswalk] = {}


def dict_view(values_fn: Callable[[object], Values]) -> Callable[[object], Mapped]:
    """A Values crosswalk as a Mapped one."""

    def fn(metadata) -> Mapped:
        return as_mapped(values_fn(metadata))

    fn.__name__ = getattr(values_fn, "__name__", type(values_fn).__name__)
    fn.__doc__, fn.__wrapped__ = values_fn.__doc__, values_fn
    return fn


def register(*names: str, version: str, values: bool = False):
    """Register a crosswalk function under one or more metadata prefixes. With `values=True` the
    function returns `Values` (finish's tuple); the name it is bound to becomes its dict view."""

    def wrap(fn):
        public = dict_view(fn) if values else fn
        for name in names:
            REGISTRY[name] = Crosswalk(name, version, public, fn if values else None)
        return public

    return wrap


_LOCAL: dict = {}


def local(tag: object) -> str:
    """The local name of an lxml tag ('{ns}title' → 'title'); '' for comments and PIs."""
    try:
        return _LOCAL[tag]
    except KeyError:
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL) < 8192:  # a page's vocabulary of tags is small; never grow without bound
            _LOCAL[tag] = name
        return name


def text(el) -> str | None:
    """Whitespace-normalised text content of an element (CDATA and children included), or None;
    comments and processing instructions are not values."""
    if el is None or not isinstance(el.tag, str):
        return None
    return element_text(el)


def element_text(el) -> str | None:
    """text() for what is known to be an element (not None, a comment or a PI): the hot walks'
    version, without text()'s checks."""
    value = el.text if len(el) == 0 else "".join(el.itertext())  # a leaf needs no tree walk
    if not value:
        return None
    value = value.strip()
    if "  " in value or "\n" in value or "\t" in value or "\r" in value:
        value = " ".join(value.split())
    return value or None


def split_name(name: str) -> str:
    """The family name in 'Family, Given' or 'Given Family'; a name without separators is kept whole."""
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else name


def creator(
    name: str | None, orcid: str | None = None, affiliation: str | None = None, family: str | None = None
) -> tuple | None:
    """A creators entry: (name, family_name, orcid, affiliation), or None without a name."""
    if not name:
        return None
    return name, family or split_name(name), orcid, affiliation


def finish(
    *,
    title,
    creators,
    subjects,
    description,
    publisher,
    year,
    resource_type,
    language,
    license,
    raw_identifiers,
    landing_url=None,
    related=(),
    originals=None,
) -> Values:
    """Classify identifiers, choose the primary PID and landing URL, and check the minimum content;
    the record's descriptive fields as `Values` (VALUE_FIELDS order, struct entries as tuples).

    `originals` maps a field to the value the partner wrote (before normalisation); it is kept
    where normalisation changed it, with every identifier whose written form differs."""
    ids: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    for value, hint in raw_identifiers:
        found = classify_identifier(value, hint)
        if found and found not in ids:
            ids.append(found)
            if found[0] != "url" and value.strip() != found[1]:
                kept.append((f"identifier:{found[0]}", value.strip()))
    if originals:
        for name, raw in originals.items():
            if raw is not None and raw != (
                language
                if name == "language"
                else license
                if name == "license"
                else resource_type
                if name == "resource_type"
                else None
            ):
                kept.append((name, raw))
    if not title:
        raise Unmappable("missing_title", "the record has no title")
    if not ids:
        raise Unmappable("missing_identifier", "no persistent identifier or URL in the record")
    best = best_pid(ids)
    landing = landing_url or next((v for s, v in ids if s == "url"), None) or (pid_url(*best) if best else None)
    rel = []
    for relation, value, hint in related:
        found = classify_identifier(value, hint)
        if found:
            entry = (relation, *found)
            if entry not in rel:
                rel.append(entry)
    return (
        title,
        creators if None not in creators else [c for c in creators if c],
        list(dict.fromkeys(subjects))
        if "" not in subjects and None not in subjects
        else list(dict.fromkeys(s for s in subjects if s)),
        description,
        publisher,
        year,
        resource_type,
        language,
        license,
        ids,
        pid_string(*best) if best else None,
        landing,
        rel,
        kept,
    )
