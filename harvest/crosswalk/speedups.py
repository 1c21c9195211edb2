"""The optional C walk (harvest/crosswalk/_walk.c): `dc_fields` is its oai_dc child loop, or None
where the module is not built, the lxml version's element layout is not one it knows, it gives a
different answer than the Python walk on a check document, or HARVEST_C_WALK=0 turns it off."""
from __future__ import annotations

import os

from lxml import etree

# lxml major versions whose public element struct (PyObject_HEAD, _doc, _c_node, _tag) the C code
# reads; another version falls back to Python until it is checked and added
KNOWN_LXML = (4, 5, 6)

_CHECK = (b'<metadata xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
          b'xmlns:dc="http://purl.org/dc/elements/1.1/"><!-- c --><oai_dc:dc>'
          b'<dc:title> A  title\n </dc:title><dc:creator>X, Y</dc:creator><!--c--><dc:creator>Z</dc:creator>'
          b'<dc:subject><![CDATA[cd]]>a<b>&amp;b</b><!--no-->c</dc:subject><dc:date></dc:date>'
          b'<dc:description>\xc3\xa9t\xc3\xa9\xc2\xa0</dc:description></oai_dc:dc></metadata>')
_EXPECTED = {"title": ["A title"], "creator": ["X, Y", "Z"], "subject": ["cda&bc"], "description": ["été"]}


def _load():
    if os.environ.get("HARVEST_C_WALK", "1") == "0" or etree.LXML_VERSION[0] not in KNOWN_LXML:
        return None
    try:
        from harvest.crosswalk import _walk
    except ImportError:
        return None
    _walk.init(etree._Element)
    if _walk.dc_fields(etree.fromstring(_CHECK)) != _EXPECTED:
        return None
    return _walk.dc_fields


dc_fields = _load()
