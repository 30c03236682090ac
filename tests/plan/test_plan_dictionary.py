"""`plan check` with a study dictionary: covariates and endpoint variables must be dictionary
variables; each missing name is reported with its plan key path."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from regmed.app.study import plan_variable_problems
from regmed.plan import example_path, load_plan
from regmed.study import parse_redcap_text, read_redcap_csv

from .test_plan_cli import _run

FIXTURE = Path(__file__).parents[1] / "study" / "data" / "redcap_30.csv"


@functools.cache
def _demo():  # type: ignore[no-untyped-def]
    from regmed import demo

    data = demo.generate("sci", seed=0, n_treated=20, n_concurrent=40, n_historical=60)
    plan = load_plan(data.plan_yaml, file="demo-sci.yaml")
    return plan, parse_redcap_text(demo.study_dictionary_csv("sci") or "")


def test_the_demo_plan_names_only_dictionary_variables() -> None:
    plan, dictionary = _demo()
    assert plan_variable_problems(plan, dictionary) == []


def test_missing_names_come_with_their_key_paths() -> None:
    plan, dictionary = _demo()
    fewer = dictionary.model_copy(update={"variables": tuple(
        v for v in dictionary.variables if v.name not in ("age", "ais_grade"))})
    got = {(p.field, p.message) for p in plan_variable_problems(plan, fewer, file="p.yaml")}
    assert got == {
        ("endpoints[0].measurement.variable", "the endpoint's measurement variable "
         "'ais_grade' is not a variable of the study dictionary (version 1)"),
        ("controls[0].adjustment.covariates[0]", "the covariate 'age' is not a variable of "
         "the study dictionary (version 1)"),
        ("controls[0].adjustment.covariates[2]", "the covariate 'ais_grade' is not a variable "
         "of the study dictionary (version 1)"),
        ("controls[1].adjustment.covariates[0]", "the covariate 'age' is not a variable of "
         "the study dictionary (version 1)"),
        ("controls[1].adjustment.covariates[2]", "the covariate 'ais_grade' is not a variable "
         "of the study dictionary (version 1)"),
    }


def test_cli_check_against_a_dictionary_file(capsys, use_calculator) -> None:  # type: ignore
    plan = str(example_path("sci_example"))
    code, out, err = _run(["plan", "check", plan, "--study-dictionary", str(FIXTURE)], capsys)
    assert code == 1, err
    assert "1 plan variable(s) not in it" in out
    assert ("controls[0].adjustment.covariates[3]: the covariate 'level' is not a variable "
            "of the study dictionary") in " ".join(out.split())
    code, out, _ = _run(["plan", "check", plan, "--study-dictionary", str(FIXTURE),
                         "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 1 and [p["field"] for p in doc["study_dictionary"]["problems"]] == [
        "controls[0].adjustment.covariates[3]"]


def test_cli_check_against_the_registry(capsys, use_calculator, tmp_path,  # type: ignore
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import regmed.registry as reg
    from regmed.registry.study_dictionary import store_study_dictionary

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    engine = reg.make_engine(url)
    reg.upgrade(engine)
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    plan = str(example_path("sci_example"))
    code, out, err = _run(["plan", "check", plan], capsys)  # the registry holds none yet
    assert code == 0, err
    assert "study dictionary" not in out
    d = read_redcap_csv(FIXTURE)
    level = d.variable("injury_level").model_copy(update={"name": "level"})  # type: ignore
    with reg.session_scope(engine) as session:
        store_study_dictionary(d.model_copy(update={"variables": (*d.variables, level)}),
                               session=session, actor="ana", reason="r")
    engine.dispose()
    code, out, err = _run(["plan", "check", plan], capsys)
    assert code == 0, err
    assert "study dictionary (version 1): every plan variable is a dictionary variable" in out
