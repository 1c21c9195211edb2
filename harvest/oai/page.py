"""One OAI-PMH response page, parsed exactly once with a parser that never expands entities.

Spec: https://www.openarchives.org/OAI/openarchivesprotocol.html#HTTPResponseFormat
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from lxml import etree

from harvest.errors import PageError

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_Q = "{%s}" % OAI_NS
# Characters XML 1.0 forbids (C0 controls other than tab, LF, CR); some repositories emit them.
_ILLEGAL = bytes(c for c in range(32) if c not in (9, 10, 13))

# resolve_entities=False + no_network + load_dtd=False: no XXE, no DTD fetch, no entity bombs.
# huge_tree: pages over 10 MB are legal and must parse (sickle leaves it off).
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, recover=False, remove_blank_text=False
)


@dataclass
class Page:
    """What one ListRecords / ListIdentifiers / GetRecord / Identify response holds."""

    url: str
    verb: str
    response_date: str | None
    items: list = field(default_factory=list)  # <record> or <header> elements
    token: str | None = None  # None: the list is complete
    complete_list_size: int | None = None
    cursor: int | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    root: object = None
    illegal_chars_removed: int = 0
    nbytes: int = 0
    error: object = None  # a PageError when the page was unreadable (items then empty)
    content: bytes | None = None  # the bytes parsed (None when illegal characters had to be removed)
    body: bytes | None = None  # the bytes as received


def _parse(content: bytes, url: str, source_id: str):
    try:
        return etree.fromstring(content, _PARSER), 0
    except etree.XMLSyntaxError as first:
        cleaned = content.translate(None, _ILLEGAL)
        removed = len(content) - len(cleaned)
        if not removed:
            raise PageError(_reason(first, content), url, source_id, str(first)) from first
        try:
            return etree.fromstring(cleaned, _PARSER), removed
        except etree.XMLSyntaxError as exc:
            raise PageError(_reason(exc, cleaned), url, source_id, str(exc)) from exc


def _reason(exc: etree.XMLSyntaxError, content: bytes) -> str:
    """Why a page did not parse: a DOCTYPE (entities, DTDs) is hostile whatever else is wrong."""
    text = str(exc).lower()
    if b"<!DOCTYPE" in content[:65536]:
        return "hostile_xml"
    return "undecodable" if ("encoding" in text or "utf-8" in text) else "malformed_xml"


_TOKEN = re.compile(rb"<(?:\w+:)?resumptionToken\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?resumptionToken>)")


def salvage_token(content: bytes | None) -> str | None:
    """The resumptionToken of a page that cannot be parsed, found by pattern (never by parsing it),
    so one unreadable page costs its own records (quarantined) and not the rest of the list."""
    if not content:
        return None
    matches = _TOKEN.findall(content)
    if not matches or not matches[-1]:
        return None
    token = matches[-1].decode("utf-8", "replace").strip()
    return html.unescape(token) or None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def parse_page(content: bytes, url: str, source_id: str = "") -> Page:
    """Parse one response body; raise PageError for anything that is not safe OAI-PMH XML."""
    if not content.strip():
        raise PageError("empty_body", url, source_id)
    root, removed = _parse(content, url, source_id)
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise PageError(
            "hostile_xml", url, source_id, "a DOCTYPE (entity or DTD declaration) is refused in OAI-PMH responses"
        )
    if root.tag != _Q + "OAI-PMH":
        raise PageError("not_oai_pmh", url, source_id, f"root element is {root.tag!r}")
    page = Page(
        url=url,
        verb="",
        response_date=None,
        root=root,
        illegal_chars_removed=removed,
        nbytes=len(content),
        content=None if removed else content,
        body=content,
    )
    for child in root.iterchildren():
        tag = child.tag
        if tag == _Q + "responseDate":
            page.response_date = (child.text or "").strip()
        elif tag == _Q + "error":
            page.errors.append((child.get("code", "undefined"), " ".join((child.text or "").split())))
        elif tag != _Q + "request" and isinstance(tag, str):
            page.verb = tag[len(_Q) :] if tag.startswith(_Q) else tag
            _read_list(child, page)
    return page


_SPACE = re.compile(rb"[ \t\r\n]*")


_UTF8 = frozenset({"UTF-8", "UTF8", "US-ASCII", "ASCII"})


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def record_bytes(page: Page) -> list[bytes] | None:
    """Each <record> of a ListRecords page as the partner sent it: its bytes in the page, with the
    namespace declarations it inherits written into its start tag (the ones `etree.tostring`
    writes there), so that it parses on its own to the same element. About a third of what
    `tostring` costs, and byte for byte what was received.

    None (then the caller serialises the records with lxml) unless the bytes can be made sure of:
    a UTF-8 page parsed as received, records with bare start tags (`<record>`) separated by
    nothing but whitespace, from the ListRecords start tag to the resumptionToken or the end of
    the list, each ended by its own end tag (nested elements of the same name, as a MARCXML
    record in the default namespace, are counted)."""
    items, content = page.items, page.content
    if not items or content is None or page.verb != "ListRecords":
        return None
    if (page.root.getroottree().docinfo.encoding or "UTF-8").upper() not in _UTF8:
        return None
    first = items[0]
    prefix = first.prefix
    qname = (prefix + ":record" if prefix else "record").encode()
    if any(el.tag != first.tag or el.prefix != prefix for el in items):
        return None
    container = first.getparent()
    list_name = ((container.prefix + ":") if container.prefix else "").encode() + b"ListRecords"
    start = content.find(b"<" + list_name)
    if start < 0 or content.find(b"<" + list_name, start + 1) >= 0:
        return None
    pos = content.find(b">", start) + 1
    open_tag, close_tag = b"<" + qname, b"</" + qname + b">"
    head = open_tag + "".join(f' xmlns{":" + k if k else ""}="{_attr(v)}"' for k, v in first.nsmap.items()).encode()
    done = _cut_records(content, pos, len(items), open_tag, close_tag, head)
    if done is None:
        return None
    out, pos = done
    pos = _SPACE.match(content, pos).end()
    tail = content[pos : pos + 64]
    if not (
        tail.startswith(b"</" + list_name)
        or tail.startswith(b"<resumptionToken")
        or (prefix and tail.startswith(b"<" + prefix.encode() + b":resumptionToken"))
    ):
        return None
    return out


def _cut_records(
    content: bytes, pos: int, count: int, open_tag: bytes, close_tag: bytes, head: bytes
) -> tuple[list[bytes], int] | None:
    """record_bytes' loop: `count` records from `pos` on, each `head` + its bytes after the open
    tag's name, and where the last one ends; None where the bytes are not as expected."""
    n = len(open_tag)
    out = []
    for _ in range(count):
        pos = _SPACE.match(content, pos).end()
        if not (content.startswith(open_tag, pos) and content[pos + n : pos + n + 1] == b">"):
            return None
        depth, k, close = 1, pos + n + 1, -1
        while depth:
            if close < k:  # the first end tag from k on (still `close` while k has not passed it:
                close = content.find(close_tag, k)  # searching again for each nested start tag
                if close < 0:  # would make a hostile record quadratic)
                    return None
            nested = content.find(open_tag, k, close)
            if nested >= 0:  # an element of the same name inside: `<record>`, `<record ...>`, `<record/>`
                after = content[nested + n : nested + n + 1]
                if after in (b">", b" ", b"\t", b"\r", b"\n"):
                    gt = content.find(b">", nested)
                    if gt < 0 or gt > close:
                        return None
                    depth += content[gt - 1 : gt] != b"/"
                    k = gt + 1
                elif after == b"/":
                    k = nested + n + 2
                else:  # a longer name (`<records`)
                    k = nested + n
                continue
            depth -= 1
            k = close + len(close_tag)
        out.append(head + content[pos + n : k])
        pos = k
    return out, pos


def _read_list(container, page: Page) -> None:
    for el in container.iterchildren():
        tag = el.tag
        if tag == _Q + "resumptionToken":
            page.token = (el.text or "").strip() or None
            page.complete_list_size = _int(el.get("completeListSize"))
            page.cursor = _int(el.get("cursor"))
        elif tag in (_Q + "record", _Q + "header"):
            page.items.append(el)
