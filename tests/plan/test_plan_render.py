"""The plan document: bilingual labels for every key and value; HTML and PDF."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from regmed.errors import PlanError
from regmed.plan import check_plan, example_path, load_plan, render_plan, write_plan_document
from regmed.plan import model as m
from regmed.plan.labels import FIELD_LABELS, ITEM_LABELS, POINT_LABELS, VALUE_LABELS
from regmed.plan.render import find_chromium


def _models():
    return [
        c
        for c in vars(m).values()
        if isinstance(c, type) and issubclass(c, BaseModel) and c.__module__ == m.__name__
    ]


def _literals(annotation):
    if typing.get_origin(annotation) is typing.Literal:
        yield from typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        yield from _literals(arg)


def test_every_field_and_value_has_both_labels():
    for cls in _models():
        for name, field in cls.model_fields.items():
            ja, en = FIELD_LABELS[name]
            assert ja and en and ja != en, name
            for value in _literals(field.annotation):
                if isinstance(value, str) and name not in ("spending", "estimand"):
                    assert value in VALUE_LABELS, (cls.__name__, name, value)
    assert all(ja != en for ja, en in POINT_LABELS.values())
    assert set(ITEM_LABELS) == {str(i) for i in range(1, 8)}


@pytest.fixture
def rendered(calculator):
    plan = load_plan(example_path("sci_extended"))
    checklist = check_plan(plan, sample_size_calculator=calculator)
    return plan, checklist


def test_japanese_document(rendered):
    html = render_plan(*rendered, lang="ja")
    assert '<html lang="ja">' in html
    for text in (
        "（６）対照群の設定と方向",
        "中央判定委員会",
        "達成基準",
        "傾向スコアマッチング",
        "ヒストリカル対照",
        "充足",
        "6 (6) D-6",
        "Autologous BM-MSC",
    ):
        assert text in html, text
    assert "Control group and direction" not in html


def test_english_document(rendered):
    html = render_plan(*rendered, lang="en")
    for text in (
        "(6) Control group and direction",
        "Central adjudication committee",
        "propensity-score matching",
        "Missing-data handling",
        "counted as non-responder",
        "same and other sites",
        "Quality spread between donors",
    ):
        assert text in html, text
    assert "対照群の設定と方向" not in html


def test_free_text_is_escaped(rendered, example_text):
    plan = load_plan(example_text.replace("EMSCI natural-history cohort", "<b>EMSCI</b>"))
    html = render_plan(plan, rendered[1], lang="en")
    assert "&lt;b&gt;EMSCI&lt;/b&gt;" in html and "<b>EMSCI</b>" not in html


def test_unknown_language(rendered):
    with pytest.raises(PlanError, match="Unknown language"):
        render_plan(*rendered, lang="fr")


def test_write_html_only(rendered, tmp_path):
    written = write_plan_document(*rendered, tmp_path, "en", pdf=False)
    assert [p.name for p in written] == ["plan.html"]
    assert "Post-marketing efficacy evaluation plan" in written[0].read_text(encoding="utf-8")


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_write_pdf(rendered, tmp_path):
    written = write_plan_document(*rendered, tmp_path, "ja", pdf=True)
    pdf = tmp_path / "plan.pdf"
    assert pdf in written and pdf.read_bytes()[:5] == b"%PDF-"


def test_identifiers_are_not_translated():
    from regmed.plan.labels import value_label

    assert value_label("ais_improvement", "en", "derivation") == "AIS grade improvement"
    assert value_label("ais_improvement", "en", "endpoint") == "ais_improvement"
    assert value_label("other", "ja", "sites") == "他施設"
    assert value_label("other", "ja", "rule") == "その他"
    assert value_label(True, "ja", "objective") == "はい"
    assert value_label(0.15, "ja", "threshold") == "0.15"
