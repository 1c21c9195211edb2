"""Normalisation of the values partners write in many ways: PIDs, ORCID iDs, years, languages,
licences and resource types. Pure functions; each returns None when it does not recognise a value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

# Schemes that identify a work; the order is the preference for a work's primary PID. An ISBN names
# one edition of a book (a work here); an ISSN names a journal, never an article, so it is no PID.
PID_SCHEMES = ("doi", "handle", "ark", "urn", "arxiv", "cstr", "isbn")

# Identifiers are written in ASCII digits: `\d` would also take another script's digits (Python's
# re is Unicode-aware) and make "10.١٢٣٤/x" a DOI, so the identifier patterns say [0-9].
_DOI_PREFIXES = re.compile(
    r"^(?:doi:\s*|info:doi/|https?://(?:dx\.|www\.)?doi\.org/|https?://doi\.[a-z]+/|urn:doi:)", re.I
)
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_HANDLE_PREFIXES = re.compile(r"^(?:hdl:\s*|info:hdl/|https?://hdl\.handle\.net/)", re.I)
_HANDLE = re.compile(r"^[0-9][0-9.]*/\S+$")
_ARXIV_PREFIXES = re.compile(r"^(?:arxiv:\s*|https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/|oai:arxiv\.org:)", re.I)
_ARXIV_NEW = re.compile(r"^([0-9]{4}\.[0-9]{4,5})(?:v[0-9]+)?(?:\.pdf)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z.-]*/[0-9]{7})(?:v[0-9]+)?(?:\.pdf)?$", re.I)
_ARK = re.compile(r"^(?:https?://[^/]+/)?ark:/?([0-9]{5,9}/\S+)$", re.I)
_URN_NBN = re.compile(r"^(?:https?://nbn-resolving\.(?:org|de)/)?(urn:nbn:[a-z0-9-]+[:-]\S+)$", re.I)
_CSTR = re.compile(r"^(?:cstr:\s*|https?://(?:www\.)?cstr\.cn/)([0-9]{5}\.[0-9]{2}\.\S+)$", re.I)
_CSTR_BARE = re.compile(r"^([0-9]{5}\.[0-9]{2}\.\S+)$")
_URL = re.compile(r"^https?://\S+$", re.I)
_ISSN = re.compile(r"^(?:urn:issn:|issn:?\s*)?([0-9]{4})-?([0-9]{3}[0-9X])$", re.I)
_ISBN_PREFIX = re.compile(r"^(?:urn:isbn:|isbn(?:-1[03])?:?\s*)", re.I)
_ORCID = re.compile(r"([0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{3}[0-9X])$", re.I)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")


def normalise_doi(value: str) -> str | None:
    """'doi:10.1/ABC', 'https://doi.org/10.1/abc', '10.1%2FABC' → '10.1/abc' (DOIs are case-insensitive)."""
    v = unquote(value.strip())
    v = _DOI_PREFIXES.sub("", v).strip()
    return v.lower() if _DOI.match(v) else None


def classify_identifier(value: str | None, hint: str | None = None) -> tuple[str, str] | None:
    """Recognise one identifier string as (scheme, normalised value), or None.

    `hint` is the identifierType a format declares (DOI, Handle, URL, ...); the value decides.
    """
    if not value:
        return None
    v = value.strip()
    if not v:
        return None
    h = (hint or "").strip().lower()
    low = v.lower()
    # each pattern below needs a substring the cheap `in` tests look for first (same answers)
    doi = normalise_doi(v) if ("10." in v or "%" in v) else None
    if doi:
        return ("doi", doi)
    if _HANDLE_PREFIXES.match(v) or (h == "handle" and _HANDLE.match(v)):
        rest = _HANDLE_PREFIXES.sub("", v).strip()
        return ("handle", rest.lower()) if _HANDLE.match(rest) else None
    arxiv = _ARXIV_PREFIXES.sub("", v) if (h == "arxiv" or ("arxiv" in low and _ARXIV_PREFIXES.match(v))) else None
    if arxiv is not None:
        m = _ARXIV_NEW.match(arxiv) or _ARXIV_OLD.match(arxiv)
        return ("arxiv", m.group(1).lower()) if m else None
    m = _ARK.match(v) if "ark:" in low else None
    if m:
        return ("ark", m.group(1))
    m = _URN_NBN.match(v) if "urn:nbn:" in low else None
    if m:
        return ("urn", m.group(1).lower())
    m = (_CSTR.match(v) if "cstr" in low else None) or (h == "cstr" and _CSTR_BARE.match(v))
    if m:
        return ("cstr", m.group(1).lower())
    if h in ("issn", "eissn", "pissn", "lissn") or v.lower().startswith(("issn", "urn:issn:")):
        issn = normalise_issn(v)
        return ("issn", issn) if issn else None
    if h == "isbn" or _ISBN_PREFIX.match(v):
        isbn = normalise_isbn(v)
        return ("isbn", isbn) if isbn else None
    if _URL.match(v):
        return ("url", v)
    return None


def normalise_issn(value: str) -> str | None:
    """'ISSN 0947-6539', 'urn:issn:09476539' → '0947-6539' if its mod-11 check digit holds."""
    m = _ISSN.match(value.strip())
    if not m:
        return None
    digits = (m.group(1) + m.group(2)).upper()
    total = sum(int(d) * w for d, w in zip(digits[:7], range(8, 1, -1)))
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"


def normalise_isbn(value: str) -> str | None:
    """ISBN-10 or ISBN-13, with or without hyphens → the ISBN-13 digits, if the check digit holds."""
    digits = re.sub(r"[\s-]", "", _ISBN_PREFIX.sub("", value.strip())).upper()
    if re.fullmatch(r"[0-9]{9}[0-9X]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11:
            return None
        digits = "978" + digits[:9]
        return digits + str((10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits)) % 10) % 10)
    if re.fullmatch(r"97[89][0-9]{10}", digits):
        if sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits)) % 10:
            return None
        return digits
    return None


def pid_string(scheme: str, value: str) -> str:
    """'doi', '10.1/abc' → 'doi:10.1/abc': the form PIDs take in the index."""
    return f"{scheme}:{value}"


def best_pid(identifiers: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The preferred PID among identifiers (scheme order, then smallest value: stable)."""
    ranked = [(PID_SCHEMES.index(s), v, s) for s, v in identifiers if s in PID_SCHEMES]
    if not ranked:
        return None
    _, value, scheme = min(ranked)
    return scheme, value


_RESOLVERS = {
    "doi": "https://doi.org/",
    "handle": "https://hdl.handle.net/",
    "arxiv": "https://arxiv.org/abs/",
    "ark": "https://n2t.net/ark:/",
    "cstr": "https://cstr.cn/",
}


def pid_url(scheme: str, value: str) -> str | None:
    """A resolver URL for a PID (used as landing URL when a record gives none)."""
    base = _RESOLVERS.get(scheme)
    return base + value if base is not None else None


@lru_cache(maxsize=8192)  # the same people recur across records: a pure function, cached
def normalise_orcid(value: str | None) -> str | None:
    """'https://orcid.org/0000-0002-1825-0097' → '0000-0002-1825-0097' if its ISO 7064 check digit holds."""
    if not value:
        return None
    m = _ORCID.search(value.strip())
    if not m:
        return None
    digits = m.group(1).replace("-", "").upper()
    # ISO 7064 11-2 sums digit i times 2^(15-i), modulo 11; read in base 13 (13 ≡ 2 mod 11) the
    # first 15 digits give that sum halved, modulo 11, in one C call instead of a loop
    total = 2 * int(digits[:15], 13)
    check = (12 - total % 11) % 11
    if digits[15] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:]}"


@lru_cache(maxsize=8192)  # partners repeat the same few values: a pure function, cached
def year_of(value: str | None) -> int | None:
    """The first plausible year (1500-2100) in a date string: '2019-05-01', 'c. 1998', '2020/2021'."""
    if not value:
        return None
    m = _YEAR.search(value)
    return int(m.group(1)) if m else None


_LANGS = {
    "en": ("en", "eng", "english"),
    "zh": ("zh", "zho", "chi", "chinese", "中文"),
    "ar": ("ar", "ara", "arabic", "العربية"),
    "es": ("es", "spa", "spanish", "español", "espanol"),
    "pt": ("pt", "por", "portuguese", "português"),
    "fr": ("fr", "fra", "fre", "french", "français"),
    "de": ("de", "deu", "ger", "german", "deutsch"),
    "sw": ("sw", "swa", "swahili", "kiswahili"),
    "ms": ("ms", "msa", "may", "malay", "bahasa melayu"),
    "it": ("it", "ita", "italian"),
    "nl": ("nl", "nld", "dut", "dutch"),
    "ja": ("ja", "jpn", "japanese"),
    "ko": ("ko", "kor", "korean"),
    "ru": ("ru", "rus", "russian"),
    "af": ("af", "afr", "afrikaans"),
    "am": ("am", "amh", "amharic"),
    "yo": ("yo", "yor", "yoruba"),
    "zu": ("zu", "zul", "zulu"),
    "ha": ("ha", "hau", "hausa"),
    "hi": ("hi", "hin", "hindi"),
    "id": ("id", "ind", "indonesian"),
    "fi": ("fi", "fin", "finnish"),
    "sv": ("sv", "swe", "swedish"),
    "pl": ("pl", "pol", "polish"),
    "el": ("el", "ell", "gre", "greek"),
}
_LANG_LOOKUP = {alias: code for code, aliases in _LANGS.items() for alias in aliases}


@lru_cache(maxsize=8192)  # partners repeat the same few values: a pure function, cached
def normalise_language(value: str | None) -> str | None:
    """'eng', 'English', 'en-GB', 'spa' → ISO 639-1 ('en', 'es'); an unknown 3-letter code is kept."""
    if not value:
        return None
    v = value.strip().lower().replace("_", "-")
    if v in ("und", "mul", "zxx", "mis"):  # ISO 639-2 codes that say "no single known language"
        return None
    if v in _LANG_LOOKUP:
        return _LANG_LOOKUP[v]
    base = v.split("-")[0]
    if base in _LANG_LOOKUP:
        return _LANG_LOOKUP[base]
    return base if re.fullmatch(r"[a-z]{3}", base) else None


# a jurisdiction port is a whole path segment (3.0/au, 3.0/au/), not the start of legalcode or deed.en
_CC = re.compile(r"creativecommons\.org/licenses/(by(?:-nc)?(?:-nd|-sa)?)/(\d\.\d)(/[a-z]{2,3}(?![a-z0-9._-]))?", re.I)
_CC0 = re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I)
_SPDX_KNOWN = {
    s.lower(): s
    for s in (
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-NC-ND-4.0",
        "CC-BY-3.0",
        "CC0-1.0",
        "MIT",
        "Apache-2.0",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "BSD-3-Clause",
        "ODbL-1.0",
        "PDDL-1.0",
        "EUPL-1.2",
        "MPL-2.0",
        "LGPL-3.0-only",
    )
}
_LICENSE_URLS = {
    "apache.org/licenses/license-2.0": "Apache-2.0",
    "opensource.org/licenses/mit": "MIT",
    "gnu.org/licenses/gpl-3.0": "GPL-3.0-only",
    "opendatacommons.org/licenses/odbl": "ODbL-1.0",
    "opensource.org/licenses/bsd-3-clause": "BSD-3-Clause",
}
_LICENSE_NAMES = {
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "mit license": "MIT",
    "creative commons attribution 4.0 international": "CC-BY-4.0",
    "creative commons attribution 4.0": "CC-BY-4.0",
    "creative commons zero v1.0 universal": "CC0-1.0",
    "creative commons attribution 4.0 international licence": "CC-BY-4.0",
    "creative commons attribution 4.0 international license": "CC-BY-4.0",
    "creative commons attribution share alike 4.0 international": "CC-BY-SA-4.0",
    "creative commons attribution non commercial 4.0 international": "CC-BY-NC-4.0",
}
_NOT_A_LICENSE = re.compile(r"^(info:eu-repo/semantics/|https?://purl\.org/coar/access_right/)", re.I)


@lru_cache(maxsize=8192)  # partners repeat the same few values: a pure function, cached
def normalise_license(value: str | None) -> str | None:
    """A licence URL or name → SPDX id where recognisable ('CC-BY-4.0'), else the text; access rights → None."""
    if not value:
        return None
    v = value.strip()
    if not v or _NOT_A_LICENSE.match(v):
        return None
    m = _CC.search(v)
    if m and m.group(3) and m.group(3).lower() != "/igo":
        return v  # a jurisdiction port (e.g. 3.0/au) is its own licence, mostly without an SPDX id
    if m:
        return f"CC-{m.group(1).upper()}-{m.group(2)}"
    if _CC0.search(v):
        return "CC0-1.0"
    if v.lower() in _SPDX_KNOWN:
        return _SPDX_KNOWN[v.lower()]
    if len(v) > 300:  # a copyright statement or deposit agreement, not a licence
        return None
    low = v.lower()
    if low in _LICENSE_NAMES:
        return _LICENSE_NAMES[low]
    for fragment, spdx in _LICENSE_URLS.items():
        if fragment in low:
            return spdx
    return v


_SPDX_IDS = frozenset(_SPDX_KNOWN.values())


def pick_license_from(values) -> tuple[str | None, str | None]:
    """The best licence among several statements (a recognised SPDX id, else a URL, else free
    text) and the statement it came from, as the partner wrote it."""
    if not values:
        return None, None
    return _pick_license(tuple(values))


@lru_cache(maxsize=8192)  # a partner's records repeat the same few rights statements
def _pick_license(values: tuple) -> tuple[str | None, str | None]:
    found = [(lic, raw) for raw in values if raw for lic in [normalise_license(raw)] if lic]
    spdx = [f for f in found if f[0] in _SPDX_IDS]
    urls = [f for f in found if _URL.match(f[0])]
    return (spdx or urls or found or [(None, None)])[0]


def pick_license(values) -> str | None:
    """The best licence among several statements (see pick_license_from)."""
    return pick_license_from(values)[0]


# DataCite resourceTypeGeneral is the controlled vocabulary of resource_type.
_TYPE_WORDS = {
    "dataset": "Dataset",
    "data": "Dataset",
    "software": "Software",
    "code": "Software",
    "text": "Text",
    "article": "JournalArticle",
    "journalarticle": "JournalArticle",
    "journal article": "JournalArticle",
    "preprint": "Preprint",
    "workingpaper": "Preprint",
    "thesis": "Dissertation",
    "doctoralthesis": "Dissertation",
    "masterthesis": "Dissertation",
    "dissertation": "Dissertation",
    "bachelorthesis": "Dissertation",
    "conferenceobject": "ConferencePaper",
    "conferencepaper": "ConferencePaper",
    "conference paper": "ConferencePaper",
    "report": "Report",
    "book": "Book",
    "bookpart": "BookChapter",
    "bookchapter": "BookChapter",
    "book chapter": "BookChapter",
    "image": "Image",
    "still image": "Image",
    "audiovisual": "Audiovisual",
    "video": "Audiovisual",
    "sound": "Sound",
    "collection": "Collection",
    "model": "Model",
    "workflow": "Workflow",
    "physicalobject": "PhysicalObject",
    "service": "Service",
    "interactiveresource": "InteractiveResource",
    "other": "Other",
    "literature": "Text",
    "review": "PeerReview",
    "lecture": "Text",
}
_COAR = {
    "c_6501": "JournalArticle",
    "c_2df8fbb1": "JournalArticle",
    "c_816b": "Preprint",
    "c_ddb1": "Dataset",
    "c_5ce6": "Software",
    "c_db06": "Dissertation",
    "c_bdcc": "Dissertation",
    "c_46ec": "Dissertation",
    "c_c94f": "ConferencePaper",
    "c_5794": "ConferencePaper",
    "c_93fc": "Report",
    "c_2f33": "Book",
    "c_3248": "BookChapter",
    "c_c513": "Image",
    "c_12ce": "Audiovisual",
    "c_18cc": "Sound",
    "c_1843": "Other",
}


@lru_cache(maxsize=8192)  # partners repeat the same few values: a pure function, cached
def normalise_resource_type(value: str | None) -> str | None:
    """'info:eu-repo/semantics/article', a COAR URI, 'Dataset', 'journal article' → DataCite resourceTypeGeneral."""
    if not value:
        return None
    v = value.strip()
    m = re.search(r"coar/resource_type/(c_[0-9a-f]+)", v)
    if m:
        return _COAR.get(m.group(1), "Other")
    key = v.rsplit("/", 1)[-1].strip().lower()
    if key in _TYPE_WORDS:
        return _TYPE_WORDS[key]
    squashed = key.replace(" ", "").replace("_", "").replace("-", "")
    return _TYPE_WORDS.get(squashed)
