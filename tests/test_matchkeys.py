"""The fallback key folds what does not matter and keeps what does."""
from __future__ import annotations

import pytest

from harvest.matchkeys import fallback_key, fold


@pytest.mark.parametrize("a, b", [
    ("Étude du sol", "ETUDE DU SOL!"),
    ("Müller", "muller"),
    ("青藏高原冻土温度数据集（2020）", "青藏高原 冻土温度数据集 (2020)"),          # full-width brackets, spaces
    ("ＡＢＣ　データ", "abc データ"),                                           # full-width Latin
    ("بيانات جودة المياه", "بيانات  جودة  المياه."),
    ("Почвенный углерод", "Pochvennyi uglerod"),                               # Cyrillic ↔ Latin
    ("Θερμοκρασία εδάφους", "thermokrasia edafous"),                           # Greek ↔ Latin
])
def test_same_after_folding(a, b):
    assert fold(a) == fold(b) and fold(a)


@pytest.mark.parametrize("a, b", [
    ("青藏高原冻土温度", "青藏高原降水观测"),
    ("Soil carbon 2019", "Soil carbon 2021"),
])
def test_different_stays_different(a, b):
    assert fold(a) != fold(b)


def test_fallback_key_needs_title_and_year():
    assert fallback_key("A title", 2020, "Wang") == "atitle|2020|wang"
    assert fallback_key("A title", None, "Wang") is None
    assert fallback_key("  ", 2020, "Wang") is None
