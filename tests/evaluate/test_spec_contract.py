"""The typed analysis contract (issue 13): plan → specs → stored, rendered evaluation.

Every plan value the engine does not run is refused with its key path; the specs carry the
plan's method, estimand, confidence level and missing-data rule into every analysis; every
endpoint kind × control kind is stored and rendered; the exported analysis data set
reproduces the primary estimate.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed import registry
from regmed.app import run_evaluation
from regmed.document import validate_document
from regmed.errors import DataError, PlanError
from regmed.evaluate import evaluate
from regmed.plan import compile_specs, load_plan, spec_problems
from regmed.report import write_report

_ADJ = "adjustment: {method: propensity_matching, covariates: "




def _problems(text: str) -> dict[str, str]:
    return {p.field: p.message for p in spec_problems(load_plan(text))}


def _historical(text: str, old: str, new: str) -> str:
    head, tail = text.split("  - kind: historical", 1)
    return head + "  - kind: historical" + tail.replace(old, new, 1)


@pytest.mark.parametrize("method", ["propensity_covariate", "covariate_adjustment"])
def test_gcomputation_of_a_survival_endpoint_is_refused(sci, method: str) -> None:
    """No marginal hazard ratio by g-computation is built: refused at the method's key path."""
    variant = _historical(sci[2], "method: propensity_matching, ", f"method: {method}, ")
    variant = _historical(variant, ", caliper: 0.2, ratio: 2}", "}")
    found = _problems(variant)
    assert "overall_survival is survival" in found["controls[1].adjustment.method"]
    assert "controls[0].adjustment.method" not in found
    with pytest.raises(PlanError) as err:
        compile_specs(load_plan(variant))
    assert "controls[1].adjustment.method" in str(err.value.problems[0])
    start = variant.index("  - id: overall_survival")
    binary_only = variant[:start] + variant[variant.index("achievement_criteria:"):]
    assert _problems(binary_only) == {}


def test_method_options_and_estimands_are_checked(sci) -> None:
    text = sci[2]
    strat = _historical(text, "method: propensity_matching", "method: propensity_stratification")
    found = _problems(strat)
    assert "option of propensity_matching" in found["controls[1].adjustment.caliper"]
    assert "option of propensity_matching" in found["controls[1].adjustment.ratio"]
    exact = _historical(text, "caliper: 0.2, ratio: 2}", "subclasses: 4, estimand: ATO}")
    exact = _historical(exact, "method: propensity_matching", "method: exact_matching")
    found = _problems(exact)
    assert "option of propensity_stratification" in found["controls[1].adjustment.subclasses"]
    assert "not ATO" in found["controls[1].adjustment.estimand"]
    matching = _historical(text, "ratio: 2}", "ratio: 2, subclasses: 3}")
    assert "controls[1].adjustment.subclasses" in _problems(matching)
    with pytest.raises(PlanError, match="subclasses"):  # the schema: at least 2 subclasses
        load_plan(_historical(strat, "caliper: 0.2, ratio: 2}", "subclasses: 1}"))
    five = compile_specs(load_plan(_historical(strat, "caliper: 0.2, ratio: 2}", "}")))
    assert {s.n_subclasses for s in five if s.control_source.value == "historical"} == {5}
    assert {s.n_subclasses for s in five if s.control_source.value == "concurrent"} == {None}


def test_other_refusals_list_every_key_path(sci) -> None:
    text = sci[2].replace("caliper: 0.2, ratio: 2}", "caliper: 0.2, ratio: 2, estimand: ATE}", 1)
    text = text.replace("  interim: null\n", "  interim: {information_rates: [0.5, 1.0], "
                        "spending: OF}\n")
    text = text.replace("achievement_criteria:\n", "missing_data: {primary: "
                        "ipcw}\nachievement_criteria:\n")
    text = text.replace("measure: risk_difference", "measure: proportion")
    found = _problems(text)
    assert "estimates ATT, not ATE" in found["controls[0].adjustment.estimand"]
    assert "not run by the engine" in found["sample_size.interim.spending"]
    assert "not run by the engine" in found["missing_data.primary"]
    assert "controlled binary endpoint gives risk_difference" in found[
        "achievement_criteria[0].measure"]
    weighting = sci[2].replace("method: propensity_matching", "method: propensity_weighting")
    found = _problems(weighting)
    assert "option of propensity_matching" in found["controls[0].adjustment.caliper"]
    assert "option of propensity_matching" in found["controls[0].adjustment.ratio"]


def _single_arm(text: str) -> str:
    start = text.index("controls:\n")
    return text[:start] + text[text.index("treated_period:"):]


def test_single_arm_plan_needs_single_arm_measures(sci) -> None:
    single = _single_arm(sci[2])
    found = _problems(single)
    assert "single-arm binary endpoint gives proportion, not risk_difference" in found[
        "achievement_criteria[0].measure"]
    with pytest.raises(PlanError):
        evaluate(load_plan(single), sci[3], exploratory=True)
    fixed = single.replace("measure: risk_difference", "measure: proportion")
    specs = compile_specs(load_plan(fixed))
    assert [(s.endpoint, s.control_source.value, s.measure.value, s.estimand) for s in specs] \
        == [("ais_improvement", "none", "proportion", None),
            ("overall_survival", "none", "median_survival", None)]


def _weighting(text: str, estimand: str, level: float) -> str:
    text = re.sub(r"method: propensity_matching, (covariates: \[[^]]*\]), caliper: 0.2, "
                  r"ratio: 2", rf"method: propensity_weighting, \1, estimand: {estimand}", text)
    return text.replace("    ci_lower_above: 0.0\n",
                        f"    ci_lower_above: 0.0\n    confidence_level: {level}\n", 1)


def test_estimand_and_confidence_level_reach_the_verdict(sci) -> None:
    _, _, text, study = sci
    docs = {}
    for estimand, level in (("ATT", 0.95), ("ATE", 0.95), ("ATO", 0.95), ("ATO", 0.80)):
        doc = evaluate(load_plan(_weighting(text, estimand, level)), study,
                       exploratory=True).document
        a = doc["analyses"][0]
        assert a["spec"]["method"] == "propensity_weighting"
        assert a["spec"]["estimand"] == estimand and a["options"]["estimand"] == estimand
        assert a["spec"]["confidence_level"] == level and a["effect"]["ci_level"] == level
        docs[(estimand, level)] = doc
    est = {k: d["analyses"][0]["effect"]["estimate"] for k, d in docs.items()}
    assert len({round(v, 10) for v in est.values()}) == 3  # ATT, ATE, ATO differ
    wide, narrow = (docs[("ATO", lvl)]["verdict"]["criteria"][0] for lvl in (0.95, 0.80))
    assert wide["estimate"] == pytest.approx(narrow["estimate"])
    assert narrow["ci_upper"] - narrow["ci_lower"] < wide["ci_upper"] - wide["ci_lower"]
    # the same interval at the 0.90 instead of the 0.975 quantile (a t quantile with the
    # regression's residual df, hence a ratio a little below the normal one)
    ratio = (narrow["ci_upper"] - narrow["ci_lower"]) / (wide["ci_upper"] - wide["ci_lower"])
    assert ratio == pytest.approx(1.2815516 / 1.9599640, rel=0.01)


def _variant(study, text: str, kind: str, control: str):
    """A plan (and data) with one endpoint of ``kind`` against one control of ``control``."""
    new, data = _variant_text(study, text, kind, control)
    return load_plan(new), data


def _variant_text(study, text: str, kind: str, control: str):
    patients = study.patients.copy()
    covariates = "[age, sex, ais_grade, injury_level, days_from_injury]"
    controls = text[text.index("controls:\n"):text.index("treated_period:")]
    block = {
        "concurrent": controls.split("  - kind: historical")[0],
        "historical": "controls:\n  - kind: historical" + controls.split("  - kind: historical")[1],
    }
    if control == "external":
        patients["cohort"] = patients["cohort"].replace("historical_control", "external_control")
        block["external"] = block["historical"].replace("kind: historical", "kind: external")
    if control == "none_covariates":  # a comparison with no adjustment at all
        block[control] = re.sub(r"\n    adjustment: \{[^}]*\}", "", block["concurrent"])
    if control == "single_arm":  # no controls: each endpoint against its performance goal
        block[control] = ""
        text = text.replace("measure: risk_difference", "measure: proportion").replace(
            "threshold: 0.15\n    ci_lower_above: 0.0\n",
            "threshold: 0.35\n    ci_lower_above: 0.2\n    confidence_level: 0.9\n")
        text = text.replace("achievement_criteria:\n", "achievement_criteria:\n"
                            "  - {endpoint: motor_gain, measure: mean, threshold: 5.0}\n"
                            "  - {endpoint: overall_survival, measure: median_survival, "
                            "threshold: 100.0}\n", 1)
    new = text.replace(text[text.index("controls:\n"):text.index("treated_period:")],
                       block[control])
    new = re.sub(r"covariates: \[[^]]*\]", f"covariates: {covariates}", new)
    if kind == "continuous":
        rng = np.random.default_rng(1)
        outcome = patients["baseline_motor_score"] + 4.0 * patients["ais_improvement"] + \
            rng.normal(0, 3, len(patients))
        patients["motor_gain"] = outcome.where(patients["ais_improvement"].notna())
        new = new.replace("  - id: overall_survival", """  - id: motor_gain
    role: secondary
    kind: continuous
    definition: "motor score at day 180 (test)"
    objective: true
    assessor: blinded_central
  - id: overall_survival""")
    return new, dataclasses.replace(study, patients=patients)


@pytest.mark.parametrize("control", ["concurrent", "external", "historical", "none_covariates"])
def test_each_endpoint_and_control_kind_is_stored_and_rendered(sci, tmp_path: Path,
                                                              control: str,
                                                              stored_copy) -> None:
    url, _, text, study = sci
    plan, data = _variant(study, text, "continuous", control)
    evaluation = evaluate(plan, data, exploratory=True)
    doc = evaluation.document
    kinds = {a["kind"] for a in doc["analyses"]}
    assert kinds == {"binary", "continuous", "survival"}
    source = "concurrent" if control == "none_covariates" else control
    assert {a["control_source"] for a in doc["analyses"]} == {source}
    cont = next(a for a in doc["analyses"] if a["kind"] == "continuous")
    if control != "none_covariates":
        assert cont["evalue"] is not None and cont["evalue"]["point"] > 1
        assert cont["propensity"] is not None
    else:
        assert all(a["method"] == "none" and a["propensity"] is None for a in doc["analyses"])
        assert all(a["spec"]["method"] == "none" for a in doc["analyses"])
    stored = stored_copy(url, doc)
    validate_document(stored)
    files = write_report(stored, tmp_path / control, pdf=_has_chromium())
    html = files.html.read_text(encoding="utf-8")
    assert "analysis-data/motor_gain__" in html and 'id="spec-table"' in html
    if files.pdf is not None:
        assert files.pdf.stat().st_size > 10_000


def test_single_arm_of_each_endpoint_kind_is_stored_and_rendered(sci, tmp_path: Path,
                                                                 stored_copy) -> None:
    """Proportion, mean and median survival of the treated arm against the goal."""
    from regmed import evidence

    url, _, text, study = sci
    plan, data = _variant(study, text, "continuous", "single_arm")
    evaluation = evaluate(plan, data, exploratory=True)
    doc = evaluation.document
    by_kind = {a["kind"]: a for a in doc["analyses"]}
    assert set(by_kind) == {"binary", "continuous", "survival"}
    treated = data.patients[data.patients["cohort"] == "treated"]
    for kind, measure, column in (("binary", "proportion", "ais_improvement"),
                                  ("continuous", "mean", "motor_gain"),
                                  ("survival", "median_survival", "overall_survival")):
        a = by_kind[kind]
        assert a["control_source"] == "none" and a["n_control"] == 0
        assert a["method"] == "single_arm" and a["spec"]["measure"] == measure
        assert a["spec"]["estimand"] is None and a["spec"]["control_cohorts"] == []
        level = 0.9 if kind == "binary" else 0.95
        assert a["spec"]["confidence_level"] == level == a["effect"]["ci_level"]
        if kind == "survival":
            want = evidence.single_arm(treated, time=f"{column}_time", event=f"{column}_event",
                                       measure=measure, confidence_level=level)
        else:
            want = evidence.single_arm(treated, outcome=column, measure=measure,
                                       confidence_level=level)
        for got, value in ((a["effect"]["estimate"], want.estimate),
                           (a["effect"]["ci_lower"], want.ci[0])):
            if np.isnan(value):  # a median not reached is stored as null
                assert got is None
            else:
                assert got == pytest.approx(value, abs=1e-12)
        assert a["n_treated"] == want.n
        frame = evaluation.analysis_data[f"{column}__none"]
        assert len(frame) == want.n and (frame["treated"] == 1).all()
    crit = {c["endpoint"]: c for c in doc["verdict"]["criteria"]}
    assert crit["ais_improvement"]["control_source"] == "none"
    p = by_kind["binary"]["effect"]
    assert crit["ais_improvement"]["met"] == (p["estimate"] >= 0.35 and p["ci_lower"] > 0.2)
    assert by_kind["survival"]["km"][0] == {"group": "treated", "time": 0.0, "surv": 1.0,
                                            "lower": 1.0, "upper": 1.0}
    stored = stored_copy(url, doc)
    files = write_report(stored, tmp_path, pdf=_has_chromium())
    html = files.html.read_text(encoding="utf-8")
    assert "no controls (single arm)" in html and "analysis-data/motor_gain__none" in html
    if files.pdf is not None:
        assert files.pdf.stat().st_size > 10_000


def _has_chromium() -> bool:
    from regmed.report.output import find_chromium

    try:
        find_chromium()
    except Exception:  # noqa: BLE001 - the PDF part needs Chromium, as the report tests do
        return False
    return True


@pytest.mark.parametrize("method", ["exact_matching", "propensity_stratification",
                                    "propensity_covariate", "covariate_adjustment"])
def test_each_method_is_stored_and_rendered(sci, tmp_path: Path, method: str) -> None:
    """Binary and continuous endpoints (survival too where the method is defined), HTML+PDF."""
    _, _, text, study = sci
    new, data = _variant_text(study, text, "continuous", "concurrent")
    covs = "covariates: [sex, ais_grade, injury_level]" if method == "exact_matching" else r"\1"
    new = re.sub(r"method: propensity_matching, (covariates: \[[^]]*\]), caliper: 0.2, "
                 r"ratio: 2", f"method: {method}, {covs}, estimand: ATE", new)
    if method in ("propensity_covariate", "covariate_adjustment"):
        new = new[:new.index("  - id: overall_survival")] + new[
            new.index("achievement_criteria:"):]
    doc = evaluate(load_plan(new), data, exploratory=True).document
    kinds = {a["kind"] for a in doc["analyses"]}
    assert kinds == ({"binary", "continuous"} if method in ("propensity_covariate",
                     "covariate_adjustment") else {"binary", "continuous", "survival"})
    assert all(a["spec"]["method"] == method for a in doc["analyses"])
    assert all(a["balance"] for a in doc["analyses"])
    files = write_report(doc, tmp_path, pdf=_has_chromium() and method == "exact_matching")
    html = files.html.read_text(encoding="utf-8")
    assert 'id="spec-table"' in html and method in html
    if files.pdf is not None:
        assert files.pdf.stat().st_size > 10_000


def test_pdf_of_each_endpoint_kind(sci, tmp_path: Path) -> None:
    from regmed.report.output import find_chromium

    try:
        find_chromium()
    except Exception:  # noqa: BLE001 - the PDF part needs Chromium, as the report tests do
        pytest.skip("Chromium is not installed")
    _, _, text, study = sci
    plan, data = _variant(study, text, "continuous", "external")
    files = write_report(evaluate(plan, data, exploratory=True).document, tmp_path, pdf=True)
    assert files.pdf is not None and files.pdf.stat().st_size > 10_000


def test_exported_analysis_data_reproduce_the_primary_estimate(sci, tmp_path: Path) -> None:
    import statsmodels.api as sm

    url, name, _, _ = sci
    out = tmp_path / "out"
    doc, files = run_evaluation(plan=name, version=None, exploratory=False, out=out, pdf=False,
                                url=url)
    primary = doc["analyses"][0]
    assert primary["analysis_data"] == "analysis-data/ais_improvement__concurrent.csv"
    frame = pd.read_csv(out / primary["analysis_data"])
    spec = primary["spec"]
    assert list(frame.columns[:2]) == ["pseudonym", "treated"]
    assert list(frame.columns[2:2 + len(spec["covariates"])]) == spec["covariates"]
    assert {"outcome", "ps", "weight", "subclass"} <= set(frame.columns)
    assert len(frame) == primary["n_treated"] + primary["n_control"]
    # weighted linear probability model: the risk difference (MatchIt's vignette's lm + weights)
    fit = sm.WLS(frame["outcome"], sm.add_constant(frame["treated"].astype(float)),
                 weights=frame["weight"]).fit()
    assert fit.params["treated"] == pytest.approx(primary["effect"]["estimate"], abs=1e-12)
    surv = next(a for a in doc["analyses"] if a["kind"] == "survival")
    sframe = pd.read_csv(out / surv["analysis_data"])
    assert {"time", "event", "ps", "weight"} <= set(sframe.columns)
    for key in (a["analysis_data"] for a in doc["analyses"]):
        assert key in files and files[key].exists()


def test_unwritable_out_stores_nothing(sci, tmp_path: Path) -> None:
    url, name, _, _ = sci
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    engine = registry.make_engine(url)
    from sqlalchemy import func, select

    from regmed.registry.models import Evaluation as EvaluationRecord

    with registry.session_scope(engine) as session:
        before = session.scalar(select(func.count()).select_from(EvaluationRecord))
    for _ in range(2):  # a retry does not store another evaluation either
        with pytest.raises(DataError, match="cannot be written"):
            run_evaluation(plan=name, version=None, exploratory=False, out=blocker / "out",
                           pdf=False, url=url)
    with registry.session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(EvaluationRecord)) == before
    engine.dispose()


def test_demo_adjusts_the_historical_controls_for_calendar_year(sci) -> None:
    """The calendar year of injury is a registry baseline covariate and enters the PS model of
    every comparison that holds historical controls, as the plan's era adjustment says: the
    registry's controls reach into the treated period, so the years overlap (issue 13)."""
    _, _, text, study = sci
    plan = load_plan(text)
    assert "injury_year" in plan.controls[1].era_adjustment
    assert "injury_year" in plan.controls[1].adjustment.covariates
    years = study.patients.groupby("cohort")["injury_year"].agg(["min", "max"])
    assert years.loc["historical_control", "min"] < years.loc["treated", "min"]
    assert years.loc["historical_control", "max"] >= years.loc["treated", "min"] + 1
    doc = evaluate(plan, study, exploratory=True).document
    for source in ("historical", "pooled"):
        entry = next(a for a in doc["analyses"] if a["control_source"] == source
                     and a["endpoint"] == "ais_improvement")
        assert "injury_year" in entry["spec"]["covariates"], source
        assert "injury_year" in entry["covariates"], source
        row = next(b for b in entry["balance"] if b["covariate"] == "injury_year")
        # the historical controls are years older before matching; matched within the
        # caliper most of the gap is gone (the overlap is only the first treated years)
        assert row["smd_before"] > 0.5, source
        assert abs(row["smd_after"]) < 0.3 * row["smd_before"], (source, row)


def test_cli_unwritable_out_is_one_sentence_and_stores_nothing(
        sci, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`regmed evaluate --out` at a path that cannot be written: exit 2, the path named, no
    evaluation and no audit event stored, on the first try and on a retry."""
    from sqlalchemy import func, select

    from regmed.cli import main
    from regmed.registry.models import AuditEvent
    from regmed.registry.models import Evaluation as EvaluationRecord

    url, name, _, _ = sci
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    engine = registry.make_engine(url)

    def counts() -> tuple[int, int]:
        with registry.session_scope(engine) as session:
            return (session.scalar(select(func.count()).select_from(EvaluationRecord)),
                    session.scalar(select(func.max(AuditEvent.seq))))

    before = counts()
    for _ in range(2):
        with pytest.raises(SystemExit) as exited:
            main(["evaluate", "--plan", name, "--out", str(blocker / "out"), "--no-pdf"])
        err = " ".join(capsys.readouterr().err.split())
        assert exited.value.code == 2
        assert "The output folder cannot be written; nothing was evaluated or stored" in err
        assert str(blocker / "out") in err and "--out" in err and "Traceback" not in err
    assert counts() == before
    engine.dispose()
