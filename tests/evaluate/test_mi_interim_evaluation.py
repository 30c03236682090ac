"""Plans with multiple imputation or an interim design, evaluated, stored and rendered
(issue 13): the specs carry them, the document shows the fraction of missing information and
the group-sequential boundaries, and the verdict follows the group-sequential decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from regmed.document import validate_document
from regmed.evaluate import evaluate
from regmed.plan import load_plan
from regmed.report import write_report

INTERIM = "  interim: {information_rates: [0.5, 1.0], spending: asOF}\n"
MI = ("missing_data: {primary: multiple_imputation, imputations: 5, seed: 31}\n"
      "achievement_criteria:\n")


def _store_and_render(stored_copy, url: str, doc: dict, out: Path, pdf: bool) -> str:
    stored = stored_copy(url, doc)
    validate_document(stored)
    files = write_report(stored, out, pdf=pdf)
    if pdf:
        assert files.pdf is not None and files.pdf.stat().st_size > 10_000
    return files.html.read_text(encoding="utf-8")


def _chromium() -> bool:
    from regmed.report.output import find_chromium

    try:
        find_chromium()
    except Exception:  # noqa: BLE001 - the PDF needs Chromium, as the report tests do
        return False
    return True


def test_plan_with_interim_runs_and_the_document_shows_the_boundaries(sci, tmp_path,
                                                                     stored_copy) -> None:
    url, _, text, study = sci
    assert "  interim: null\n" in text
    plan = load_plan(text.replace("  interim: null\n", INTERIM))
    doc = evaluate(plan, study, exploratory=True).document
    primary = [a for a in doc["analyses"] if a["role"] == "primary"]
    assert primary and all("interim" in a for a in primary)
    assert all("interim" not in a for a in doc["analyses"] if a["role"] != "primary")
    block = primary[0]["interim"]
    assert primary[0]["spec"]["interim"]["spending"] == "asOF"
    assert block["design"]["critical_values"] == pytest.approx([2.96259, 1.96857], abs=1e-4)
    assert [lk["stage"] for lk in block["looks"]] == [1, 2]
    assert block["looks"][0]["cut_date"] is not None and block["looks"][1]["cut_date"] is None
    assert block["looks"][0]["n_treated"] <= block["looks"][1]["n_treated"]
    criterion = doc["verdict"]["criteria"][0]
    assert criterion["group_sequential"] == block["decision"]
    final = block["final"]
    assert final is not None
    assert criterion["estimate"] == pytest.approx(final["median_unbiased"])
    assert (criterion["ci_lower"], criterion["ci_upper"]) == pytest.approx(
        (final["ci_lower"], final["ci_upper"]))
    assert criterion["met"] == (block["rejected"] and final["median_unbiased"] >= 0.15)
    assert doc["verdict"]["overall"] == ("met" if criterion["met"] else "not_met")
    html = _store_and_render(stored_copy, url, doc, tmp_path / "final", pdf=_chromium())
    assert 'class="interim"' in html and "Repeated CI" in html
    assert "2.963" in html and "1.969" in html  # the boundaries
    assert "median unbiased estimate" in html
    ja = write_report(doc, tmp_path / "ja", pdf=False, lang="ja").html.read_text(
        encoding="utf-8")
    assert "群逐次解析" in ja and "反復信頼区間" in ja


def test_interim_look_is_evaluated_at_its_data_cut(sci, tmp_path, stored_copy) -> None:
    url, _, text, study = sci
    plan = load_plan(text.replace("  interim: null\n", INTERIM))
    doc = evaluate(plan, study, exploratory=True, stage=1).document
    block = next(a for a in doc["analyses"] if a["role"] == "primary")["interim"]
    assert block["stage"] == 1 and len(block["looks"]) == 1
    look = block["looks"][0]
    assert look["reached"] == 57  # ceil(0.5 * 114 planned treated)
    criterion = doc["verdict"]["criteria"][0]
    if block["decision"] == "continue":
        assert block["final"] is None and doc["verdict"]["overall"] == "inconclusive"
        assert "continues" in criterion["reason"]
    else:
        assert block["final"]["stage"] == 1
    html = _store_and_render(stored_copy, url, doc, tmp_path / "look1", pdf=False)
    assert look["cut_date"] in html


def test_plan_with_multiple_imputation_stores_the_fraction_of_missing_information(
        sci, tmp_path, stored_copy) -> None:
    url, _, text, study = sci
    plan = load_plan(text.replace("achievement_criteria:\n", MI, 1))
    evaluation = evaluate(plan, study, exploratory=True)
    doc = evaluation.document
    primary = next(a for a in doc["analyses"] if a["role"] == "primary")
    assert primary["spec"]["missing_data"] == "multiple_imputation"
    assert primary["spec"]["imputations"] == 5 and primary["spec"]["imputation_seed"] == 31
    block = primary["imputation"]
    assert block["m"] == 5 and 0 < block["fmi"] < 1
    assert sum(block["n_missing"].values()) > 0
    pooled = next(r for r in primary["effect"]["estimates"] if r["term"] == "risk_difference")
    per = [p["estimates"]["risk_difference"]["estimate"] for p in block["per_imputation"]]
    assert pooled["estimate"] == pytest.approx(sum(per) / 5, abs=1e-12)
    criterion = doc["verdict"]["criteria"][0]
    assert criterion["estimate"] == pytest.approx(pooled["estimate"])
    secondary = [a for a in doc["analyses"] if a["role"] == "secondary"]
    assert all("imputation" not in a for a in secondary)
    label = f"{primary['endpoint']}__{primary['control_source']}"
    assert f"{label}__imputed" in evaluation.analysis_data
    assert sorted(evaluation.analysis_data[label]["imputation"].unique()) == [1, 2, 3, 4, 5]
    html = _store_and_render(stored_copy, url, doc, tmp_path / "mi", pdf=_chromium())
    assert 'class="imputation"' in html and "Fraction of missing information" in html
    assert f"analysis-data/{label}__imputed.csv" in html


def test_a_stage_without_an_interim_design_is_refused(sci) -> None:
    from regmed.errors import PlanError

    _, _, text, study = sci
    with pytest.raises(PlanError) as err:
        evaluate(load_plan(text), study, exploratory=True, stage=1)
    assert err.value.problems[0].field == "stage"


def test_the_app_passes_the_stage_and_writes_the_imputed_data_sets(sci, tmp_path) -> None:
    from regmed.app import run_evaluation

    url, _, text, _ = sci
    plan = tmp_path / "interim-mi.yaml"
    plan.write_text(text.replace("  interim: null\n", INTERIM).replace(
        "achievement_criteria:\n", MI, 1), encoding="utf-8")
    doc, files = run_evaluation(plan=str(plan), version=None, exploratory=True,
                                out=tmp_path / "out", pdf=False, url=url, stage=1)
    primary = next(a for a in doc["analyses"] if a["role"] == "primary")
    assert primary["interim"]["stage"] == 1 and "imputation" in primary
    label = f"{primary['endpoint']}__{primary['control_source']}"
    assert files[f"analysis-data/{label}__imputed.csv"].exists()
