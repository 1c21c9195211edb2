"""Unicode-aware keys for matching works that carry no persistent identifier.

NFKD folding drops accents ('Müller' → 'muller'), NFKC folds width and compatibility forms
('ＡＢＣ' → 'abc'), case folding handles scripts with case, and only letters and digits remain,
so punctuation, spaces and full-width brackets in Chinese, Arabic or Cyrillic titles do not matter.
"""

from __future__ import annotations

import unicodedata

# Transliteration where it helps: Cyrillic and Greek titles are often also written in Latin letters
# (a Russian repository and its English mirror). CJK and Arabic are left in their own script:
# romanisation there is ambiguous and would merge different works.
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
            "i",
            "i",
            "ie",
            "g",
            "u",
        ],
    )
)
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        [
            "a",
            "v",
            "g",
            "d",
            "e",
            "z",
            "i",
            "th",
            "i",
            "k",
            "l",
            "m",
            "n",
            "x",
            "o",
            "p",
            "r",
            "s",
            "s",
            "t",
            "y",
            "f",
            "ch",
            "ps",
            "o",
        ],
    )
)
_TRANSLIT = str.maketrans({**_CYRILLIC, **_GREEK})


def fold(text: str | None) -> str:
    """A comparison form of a text: NFKD minus combining marks, NFKC, casefold, Cyrillic and Greek
    transliterated, letters/digits only."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = unicodedata.normalize("NFKC", stripped).casefold().replace("ου", "ou").translate(_TRANSLIT)
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def fallback_key(title: str | None, year: int | None, family_name: str | None) -> str | None:
    """title + year + first creator's family name, folded; None when title or year is missing."""
    t = fold(title)
    if not t or year is None:
        return None
    return f"{t}|{year}|{fold(family_name)}"
