"""Aliases in English and Chinese, case and width folding, suggestions."""

from __future__ import annotations

import pytest

from stemrenal import vocabulary


@pytest.mark.parametrize(
    ("kind", "typed", "term"),
    [
        ("disease", "lupus", "lupus-nephritis"),
        ("disease", "LN", "lupus-nephritis"),
        ("disease", "狼疮性肾炎", "lupus-nephritis"),
        ("disease", "Lupus Nephritis", "lupus-nephritis"),
        ("disease", "ckd", "chronic-kidney-disease"),
        ("disease", "chronic renal failure", "chronic-kidney-disease"),
        ("disease", "CRF", "chronic-kidney-disease"),
        ("disease", "慢性肾衰竭", "chronic-kidney-disease"),
        ("disease", "慢性肾病", "chronic-kidney-disease"),
        ("disease", "diabetic nephropathy", "diabetic-kidney-disease"),
        ("disease", "糖尿病肾病", "diabetic-kidney-disease"),
        ("disease", "ＣＫＤ", "chronic-kidney-disease"),  # full-width letters
        ("endpoint", "UPCR", "proteinuria"),
        ("endpoint", "UACR", "albuminuria"),
        ("cell-source", "自体", "autologous"),
        ("design", "randomised", "rct"),
        ("tissue", "fat", "adipose"),
    ],
)
def test_lookup_accepts_aliases(kind: str, typed: str, term: str) -> None:
    assert vocabulary.lookup(kind, typed) == term


def test_proteinuria_and_albuminuria_stay_apart() -> None:
    assert vocabulary.lookup("endpoint", "24-h urine protein") == "proteinuria"
    assert vocabulary.lookup("endpoint", "albumin/creatinine ratio") == "albuminuria"


def test_unknown_term_names_the_closest() -> None:
    assert vocabulary.lookup("disease", "lupus nefritis") is None
    assert vocabulary.suggest("disease", "lupus nefritis")[0] == "lupus-nephritis"


def test_aliases_are_unique_within_a_kind() -> None:
    for kind in vocabulary.kinds():
        seen: dict[str, str] = {}
        for term in vocabulary.terms(kind):
            for spelling in (term.id, term.label, *term.aliases):
                key = vocabulary.normalise(spelling)
                assert seen.setdefault(key, term.id) == term.id, (kind, spelling)


def test_every_term_has_a_chinese_alias() -> None:
    for kind in vocabulary.kinds():
        for term in vocabulary.terms(kind):
            assert any(any("\u4e00" <= ch <= "\u9fff" for ch in a) for a in term.aliases), term.id


def test_cell_free_products_are_tagged() -> None:
    assert vocabulary.term("cell-type", "msc-ev").cell_free
    assert not vocabulary.term("cell-type", "msc").cell_free


def test_every_cell_type_has_a_cell_class() -> None:
    classes = vocabulary.ids("cell-class")
    for term in vocabulary.terms("cell-type"):
        assert term.cell_class in classes, term.id
    assert {t.cell_class for t in vocabulary.terms("cell-type")} == classes
