"""The lean lxml extraction of benchmark (b): what a harvester without sickle or pandas does with a
parsed page, written as tightly as plain lxml allows.

`generic_fields` is the issue's "parse + generic field extraction": a record's header identifier and
datestamp, and the text of every leaf element of its metadata, grouped by local name (no crosswalk,
no normalisation, no Arrow). `two_fields` is a stricter floor kept beside it: the identifier and the
first title only.
"""

from __future__ import annotations

from lxml import etree

O = "{http://www.openarchives.org/OAI/2.0/}"
_RECORD, _HEADER, _METADATA = O + "record", O + "header", O + "metadata"
_ID, _STAMP = O + "identifier", O + "datestamp"


def generic_fields(root) -> list[tuple[str | None, str | None, dict[str, list[str]]]]:
    rows = []
    for rec in root.iter(_RECORD):
        header = rec.find(_HEADER)
        fields: dict[str, list[str]] = {}
        metadata = rec.find(_METADATA)
        if metadata is not None:
            for el in metadata.iter(etree.Element):
                if len(el) == 0 and el.text:
                    value = el.text.strip()
                    if value:
                        fields.setdefault(el.tag.rpartition("}")[2], []).append(value)
        rows.append((header.findtext(_ID), header.findtext(_STAMP), fields))
    return rows


def two_fields(root) -> list[tuple]:
    return [(rec.findtext(f"{_HEADER}/{_ID}"), rec.findtext(".//{*}title")) for rec in root.iter(_RECORD)]
