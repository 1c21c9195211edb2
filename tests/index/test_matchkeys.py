"""The fallback key folds what does not matter and keeps what does."""

from __future__ import annotations

import pytest

from harvest.index.matchkeys import fallback_key, fold


@pytest.mark.parametrize(
    "a, b",
    [
        ("Étude du sol", "ETUDE DU SOL!"),
        ("Müller", "muller"),
        ("青藏高原冻土温度数据集（2020）", "青藏高原 冻土温度数据集 (2020)"),  # full-width brackets, spaces
        ("ＡＢＣ　データ", "abc データ"),  # full-width Latin
        ("بيانات جودة المياه", "بيانات  جودة  المياه."),
        ("Почвенный углерод", "Pochvennyi uglerod"),  # Cyrillic ↔ Latin
        ("Θερμοκρασία εδάφους", "thermokrasia edafous"),  # Greek ↔ Latin
    ],
)
def test_same_after_folding(a, b):
    assert fold(a) == fold(b) and fold(a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("青藏高原冻土温度", "青藏高原降水观测"),
        ("Soil carbon 2019", "Soil carbon 2021"),
    ],
)
def test_different_stays_different(a, b):
    assert fold(a) != fold(b)


def test_fallback_key_needs_title_and_year():
    assert fallback_key("A title", 2020, "Wang") == "atitle|2020|wang"
    assert fallback_key("A title", None, "Wang") is None
    assert fallback_key("  ", 2020, "Wang") is None


# The index computes fallback keys in SQL for ASCII titles and family names and calls fallback_key
# for the rest: both paths must give the same keys, or records would stop clustering.
import duckdb  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from harvest.index.cluster import fallback_key_in_python, fallback_key_sql  # noqa: E402

CASES = [
    ("A title", 2020, "Wang"),
    ("A title", None, "Wang"),
    ("  ", 2020, "Wang"),
    (None, 2020, "Wang"),
    ("", 2020, None),
    ("Soil carbon, 2019: a study (v2)!", 2019, None),
    ("Soil--carbon\t\n2019", 2019, "O'Brien"),
    ("x", 0, ""),
    ("Ünïcödé", 2001, "Müller"),
    ("Étude du sol", 2019, "Müller"),
    ("ETUDE DU SOL!", 2019, "Muller"),
    ("青藏高原冻土温度数据集（2020）", 2020, "Wang"),
    ("青藏高原 冻土温度数据集 (2020)", 2020, "WANG"),
    ("ＡＢＣ　データ", 2018, "ｓｕｚｕｋｉ"),
    ("abc データ", 2018, "suzuki"),
    ("بيانات جودة المياه", 2015, "الحسن"),
    ("بيانات  جودة  المياه.", 2015, None),
    ("Почвенный углерод", 2012, "Иванов"),
    ("Pochvennyi uglerod", 2012, "Ivanov"),
    ("Θερμοκρασία εδάφους", 2011, "Παπαδόπουλος"),
    ("thermokrasia edafous", 2011, "Papadopoulos"),
    ("Straße", 2010, "Groß"),
    ("ﬁnite ﬁelds", 2009, "Ŀlull"),
    ("İstanbul", 2008, "ŞAHİN"),
    ("Title\u0000with\u0007control", 2007, "A\u00a0B"),
    ("!!!", 2006, "Smith"),
    ("123", 2005, "42"),
]


def _sql_keys(rows):
    con = duckdb.connect()
    con.execute("CREATE TABLE c(i INTEGER, title VARCHAR, y INTEGER, family VARCHAR)")
    con.executemany("INSERT INTO c VALUES (?, ?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
    got = con.execute(f"""SELECT {fallback_key_sql("title", "y", "family")},
                                 {fallback_key_in_python("title", "y", "family")} FROM c ORDER BY i""").fetchall()
    con.close()
    return got


def _ascii(text):
    return text is None or text.isascii()


def test_sql_and_python_fallback_keys_agree_on_every_case():
    for (title, year, family), (sql_key, in_python) in zip(CASES, _sql_keys(CASES)):
        expected = fallback_key(title, year, family)
        if in_python:
            assert not (_ascii(title) and _ascii(family)), (title, family)
            assert title is not None and year is not None
        else:
            assert sql_key == expected, (title, year, family)
        if _ascii(title) and _ascii(family):
            assert not in_python, (title, family)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(st.characters(max_codepoint=127), max_size=30)),
            st.one_of(st.none(), st.integers(-9999, 9999)),
            st.one_of(st.none(), st.text(st.characters(max_codepoint=127), max_size=12)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_sql_fallback_key_is_exact_for_any_ascii(rows):
    for (title, year, family), (sql_key, in_python) in zip(rows, _sql_keys(rows)):
        assert not in_python
        assert sql_key == fallback_key(title, year, family), (title, year, family)
