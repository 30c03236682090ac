"""The HTML report read as a person would: order of sections, verdict, banners, figures."""

from __future__ import annotations

import copy
import json

import pytest
from report_pagecheck import SAMPLE, Page, decode_data_uri, plot_content

from regmed.errors import RegmedError
from regmed.report import LABELS, render_html
from regmed.report.labels import labels_for

SECTIONS = ["verdict", "plan", "attrition", "balance", "effects", "km", "sensitivity",
            "quality", "provenance"]


@pytest.fixture(scope="module")
def doc():
    with SAMPLE.open(encoding="utf-8") as fh:
        return json.load(fh)


def small(doc):
    """A copy with only the first analysis: enough for checks that need no figure counts,
    and several times faster to render."""
    d = copy.deepcopy(doc)
    d["analyses"] = d["analyses"][:1]
    return d


@pytest.fixture(scope="module")
def page_en(doc):
    return Page(render_html(doc, lang="en"))


@pytest.fixture(scope="module")
def page_ja(doc):
    return Page(render_html(doc, lang="ja"))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_sections_in_order_and_verdict_table_first(lang, page_en, page_ja):
    page = page_en if lang == "en" else page_ja
    ids = [a["id"] for t, a in page.elements if t == "section"]
    assert ids == SECTIONS
    tables = [a.get("id") for t, a in page.elements if t == "table"]
    assert tables[0] == "verdict-table"
    assert page.index("table", id="verdict-table") < page.index("section", id="plan")
    assert page.find("html")[0]["lang"] == lang


def test_verdict_table_rows(doc, page_en):
    text = page_en.text
    assert "Overall verdict: MET" in text
    assert page_en.find("span", data_verdict="met")
    for c in doc["verdict"]["criteria"]:
        assert c["reason"] in text
    assert "Risk difference: estimate ≥ 0.05 and lower 95% CI limit > 0.00" in text
    assert "0.21 (0.08, 0.34)" in text
    assert "Mean difference: estimate ≥ 3.0 and lower 95% CI limit > 1.0" in text
    assert "4.2 (0.9, 7.5)" in text
    criteria = doc["verdict"]["criteria"]
    met = [c for c in criteria if c["met"]]
    assert len(page_en.find("tr", **{"class": "met"})) == len(met)
    assert len(page_en.find("tr", **{"class": "not-met"})) == len(criteria) - len(met)


def test_languages_switch_every_label(page_en, page_ja):
    assert set(LABELS["en"]) == set(LABELS["ja"])
    assert "総合判定" in page_ja.text and "事前に定めた達成基準に対する判定" in page_ja.text
    assert "Overall verdict" not in page_ja.text
    assert "総合判定" not in page_en.text
    for key in ("sec_plan", "sec_attrition", "sec_balance", "sec_sensitivity", "sec_provenance"):
        assert LABELS["ja"][key] in page_ja.text
        assert LABELS["en"][key] in page_en.text
    with pytest.raises(RegmedError, match="language"):
        labels_for("fr")


def test_shortfall_message_only_when_short(doc, page_en):
    short = small(doc)
    short["power"].update(planned_n_treated=60, planned_n_control=120, n_treated=49,
                          n_control=102, planned_power=0.8, achieved_power=0.52, shortfall=True,
                          message="Enrolment stopped at 49 of 60 treated and 102 of 120 controls.")
    short["verdict"]["overall"] = "not_met"
    en = Page(render_html(short, lang="en"))
    assert en.find("tr", data_shortfall="true")
    assert ("Enrolled 49 treated (planned 60) and 102 control patients (planned 120). "
            "Achieved power 52% against 80% planned: the pre-set achievement criteria cannot "
            "be met") in en.text
    assert "Enrolment stopped at 49 of 60 treated" in en.text
    assert "Overall verdict: NOT MET" in en.text
    # the shortfall lives inside the verdict table, before anything else
    assert en.index("tr", data_shortfall="true") < en.index("section", id="plan")
    ja = Page(render_html(short, lang="ja"))
    assert "達成された検出力は 52%（計画 80%）" in ja.text
    assert not page_en.find("tr", data_shortfall="true")


def test_exploratory_banner_only_when_exploratory(doc, page_en):
    assert not page_en.find("div", data_banner="exploratory")
    assert "EXPLORATORY" not in page_en.text
    expl = small(doc)
    expl["meta"]["exploratory"] = True
    page = Page(render_html(expl))
    assert page.find("div", data_banner="exploratory")
    assert page.find("div", **{"class": "watermark", "aria-hidden": "true"})
    assert page.index("div", data_banner="exploratory") < page.index("table", id="verdict-table")
    assert "[EXPLORATORY]" in page.text  # also in the <title>


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_each_figure_is_present_and_has_plot_content(lang, doc, page_en, page_ja):
    page = page_en if lang == "en" else page_ja
    figs = page.figure_images()
    n_survival = sum(a["kind"] == "survival" for a in doc["analyses"])
    # analyses 0 and 4 share one propensity design, so it is shown once
    assert {k: len(v) for k, v in figs.items()} == {
        "attrition": 1, "love-plot": 4, "ps-distribution": 4,
        "forest-plot": len(doc["analyses"]), "km": n_survival}
    for name, srcs in figs.items():
        for src in srcs:
            img = decode_data_uri(src)
            assert img.width >= 600 and img.height >= 300, name
            ink, colour = plot_content(img)
            assert ink > 0.02, name
            assert colour > 0.002, name  # the treated/control colours are drawn


def test_design_shared_by_endpoints_is_named(page_en, doc):
    assert "Used by: AIS improvement >= 1 grade at day 180; Time to first AIS improvement" \
        in page_en.text


def test_no_km_section_content_without_time_to_event(doc):
    d = small(doc)
    assert d["analyses"][0]["kind"] != "survival"
    page = Page(render_html(d))
    assert "km" not in page.figure_images()
    assert "No time-to-event endpoint in this evaluation." in page.text


def test_tables_hold_the_document_numbers(doc, page_en):
    text = page_en.text
    a = doc["analyses"][0]
    assert "c-statistic (AUC) " + f"{a['propensity']['auc']:.3f}" in text
    for b in a["balance"]:
        assert b["covariate"] in text
    for s in a["sensitivity"]:
        assert s["analysis"] in text
    assert "E-value (estimate) 2.31 · E-value (CI limit) 1.52" in text
    assert "43.6% (27.8%, 60.4%)" in text  # quality: first potency tertile
    assert "Q = " in text and "I² = " in text


def test_provenance(doc, page_en):
    text = page_en.text
    meta = doc["meta"]
    for value in (meta["plan"]["sha256"], meta["data_hash"], meta["regmed_version"],
                  str(meta["seed"]), meta["created_at"], meta["plan"]["version"]):
        assert value in text
    assert page_en.index("section", id="provenance") == max(
        page_en.index("section", id=s) for s in SECTIONS)


def test_document_text_is_escaped(doc):
    d = small(doc)
    d["verdict"]["statement"] = "<script>alert(1)</script>"
    html = render_html(d)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_self_contained(page_en):
    for tag, attrs in page_en.elements:
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith("data:"), (tag, attrs[key][:60])
    assert not page_en.find("link")


def test_null_numbers_show_a_dash(doc):
    d = small(doc)
    d["analyses"][0]["effect"]["p_value"] = None
    d["power"]["achieved_power"] = None
    page = Page(render_html(d))
    assert "Achieved power — (Planned power 80%)" in page.text


def test_sparse_document_still_renders(doc):
    d = small(doc)
    a = d["analyses"][0]
    a.update(by_site=[], subgroups=[], balance=[], sensitivity=[])
    a["propensity"]["distribution"] = []
    a["effect"].update(estimate=None, ci_lower=None, ci_upper=None, p_value=None,
                       std_error=None, estimates=[])
    a["heterogeneity"] = {"q": None, "df": None, "p_value": None, "i2": None}
    a["evalue"] = {"point": None, "ci": None}
    d["verdict"]["criteria"] = []
    d.update(checklist=[], attrition=[], warnings=[])
    d["quality"]["tables"] = []
    d["meta"].update(seed=None, evaluation_id=None)
    for key in ("objective", "design", "endpoints"):
        del d["meta"]["plan"][key]
    page = Page(render_html(d))
    assert "No achievement criteria in the document." in page.text
    assert "No attrition rows in the document." in page.text
    assert "No quality tables in the document." in page.text
    assert "— (—, —)" in page.text
    assert set(page.figure_images()) == {"love-plot", "ps-distribution", "forest-plot"}
    d["analyses"] = []
    page = Page(render_html(d, lang="ja"))
    assert page.figure_images() == {}
    assert page.find("table", id="verdict-table")


def test_plan_signature_manifestation(doc):
    """The lock's signature: printed name, the signing user, the time and the meaning."""
    d = small(doc)
    d["meta"]["plan"].update(signer="Hanako Sato", signed_as="hsato",
                             locked_at="2026-01-05T09:30:00+00:00",
                             signature_meaning="approved")
    for lang, words in (("en", "Hanako Sato (hsato) — meaning: approved"),
                        ("ja", "Hanako Sato (hsato) — 署名の意味: approved")):
        page = Page(render_html(d, lang=lang))
        assert words in page.text
        assert "2026-01-05T09:30:00+00:00" in page.text
    del d["meta"]["plan"]["signature_meaning"], d["meta"]["plan"]["signed_as"]
    assert "meaning" not in Page(render_html(d, lang="en")).text


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_methods_table_names_the_r_function_of_each_analysis(doc, lang):
    """Every analysis as run (its spec) with the R functions that give its numbers, and the
    documented conventions where regmed differs from R, in the provenance section."""
    from regmed.report.labels_methods import METHODS_LABELS

    d = copy.deepcopy(small(doc))
    spec = {"endpoint": "ais_improvement", "endpoint_kind": "survival", "role": "primary",
            "control_source": "historical", "method": "propensity_stratification",
            "estimand": "ATE", "confidence_level": 0.8, "missing_data": "multiple_imputation",
            "covariates": ["age", "injury_year"], "interim": None, "control_cohorts":
            ["historical_control"], "caliper": None, "caliper_scale": "logit", "ratio": 1,
            "replace": False, "n_subclasses": 5, "measure": "hazard_ratio", "threshold": None,
            "direction": None, "ci_lower_above": None, "ci_upper_below": 1.0,
            "imputations": 5, "imputation_seed": 1, "imputation_iterations": 10,
            "source": "controls[1].adjustment"}
    d["analyses"][0]["spec"] = spec
    page = Page(render_html(d, lang=lang))
    i = 0 if lang == "en" else 1
    rows = page.find("tr", **{"class": "method-row"})
    assert [r["data-method"] for r in rows] == ["propensity_stratification"]
    text = page.text
    for key in ("r_propensity_stratification", "r_survival", "r_mi", "conv_power_rates",
                "conv_mi_df"):
        assert METHODS_LABELS[key][i] in text
    assert METHODS_LABELS["r_interim"][i] not in text
    assert "80% CI" in text and "age, injury_year" in text
    assert page.index("h3", id="methods") > page.index("section", id="provenance")
