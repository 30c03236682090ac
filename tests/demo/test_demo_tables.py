"""The demo's tables conform to the registry's import dictionary, and generation is seeded."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from demo_dictcheck import check_tables, load_dictionary

from regmed.demo import SCENARIOS, TABLE_ORDER, DemoData, defaults, generate
from regmed.errors import DataError

SMALL = {"n_treated": 40, "n_concurrent": 80, "n_historical": 100}


@pytest.fixture(scope="module")
def sci() -> DemoData:
    return generate("sci", seed=3)


@pytest.fixture(scope="module")
def heart() -> DemoData:
    return generate("heart_failure_shortfall", seed=3)


def test_table_order_and_columns_follow_the_dictionary(sci: DemoData) -> None:
    d = load_dictionary()
    assert list(TABLE_ORDER) == d["order"]
    assert list(sci.tables) == d["order"]
    for name, spec in d["tables"].items():
        assert list(sci.tables[name].columns) == list(spec["columns"]), name


def test_default_sci_conforms_to_the_dictionary(sci: DemoData) -> None:
    assert check_tables(sci.tables) == []


def test_heart_scenario_conforms_to_the_dictionary(heart: DemoData) -> None:
    assert check_tables(heart.tables) == []


@pytest.mark.parametrize("params", [
    SMALL,
    {"n_treated": 5, "n_concurrent": 3, "n_historical": 0, "n_sites": 1, "n_other_sites": 0},
    {"n_treated": 0, "n_concurrent": 20, "n_historical": 10},
    {"n_treated": 30, "missing_rate": 0.5, "death_rate": 0.3, "out_of_window_rate": 0.5,
     "oos_rate": 1.0, "physician_rate": 1.0, "n_concurrent": 30, "n_historical": 30},
])
def test_small_and_extreme_sizes_conform(params: dict) -> None:
    demo = generate("sci", seed=11, **params)
    assert check_tables(demo.tables) == []
    enrol = demo.tables["enrollments"]
    assert (enrol["cohort"] == "treated").sum() == params["n_treated"]
    assert len(demo.tables["lots"]) == params["n_treated"]


def test_checker_catches_planted_defects(sci: DemoData) -> None:
    tables = {k: v.copy() for k, v in sci.tables.items()}
    tables["patients"].loc[0, "sex"] = "X"                       # bad enum
    tables["lots"].loc[1, "released_on"] = tables["lots"].loc[1, "manufactured_on"]  # order
    tables["shipments"].loc[2, "lot_code"] = "NO-SUCH-LOT"         # bad ref
    tables["assessments"].loc[3, "assessor"] = None                # required
    tables["donors"] = pd.concat([tables["donors"], tables["donors"].iloc[[0]]])  # dup key
    problems = check_tables(tables)
    assert len(problems) == 5, problems
    for where in ("patients, row 1, sex", "lots, row 2, released_on",
                  "shipments, row 3, lot_code", "assessments, row 4, assessor",
                  "donors, row 121, donor_code"):
        assert any(p.startswith(where) for p in problems), where


def _dates(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_datetime(frame[col])


def test_records_tell_a_consistent_story(sci: DemoData) -> None:
    t = sci.tables
    key = ["site_code", "patient_ref"]
    admin = t["administrations"].merge(t["enrollments"], on=key)
    admin = admin.merge(t["lots"], on="lot_code").merge(t["shipments"], on="lot_code",
                                                        suffixes=("", "_ship"))
    assert (admin["site_code"] == admin["site_code_ship"]).all()
    assert (_dates(admin, "administered_on") >= _dates(admin, "received_on")).all()
    assert (_dates(admin, "received_on") > _dates(admin, "released_on")).all()
    assert (admin["cohort"] == "treated").all()
    # donor = patient for the autologous product
    donors = t["donors"].merge(t["lots"], on="donor_code").merge(
        t["administrations"], on="lot_code").merge(t["patients"], on=key)
    assert (donors["birth_year_x"] == donors["birth_year_y"]).all()
    assert (donors["sex_x"] == donors["sex_y"]).all()
    # out-of-spec lots are released_oos with a documented request, and only those
    res = t["lot_results"].merge(t["quality_attributes"], on="attribute_code")
    res["oos"] = (res["value"] < res["lower_spec"].fillna(-np.inf)) | (
        res["value"] > res["upper_spec"].fillna(np.inf))
    oos_lots = set(res.loc[res["oos"], "lot_code"])
    assert 0 < len(oos_lots) < len(t["lots"]) / 4
    lots = t["lots"].set_index("lot_code")
    assert set(lots.index[lots["status"] == "released_oos"]) == oos_lots
    flagged = t["administrations"].set_index("lot_code")["oos_request_documented"]
    assert set(flagged.index[flagged]) == oos_lots
    assert set(lots["process_version"]) == {"v1", "v2"}
    # events inside each patient's follow-up; deaths end it
    fu = t["follow_ups"].merge(t["enrollments"], on=key)
    ae = t["adverse_events"].merge(fu, on=key)
    assert (_dates(ae, "onset_on") > _dates(ae, "enrolled_on")).all()
    assert (_dates(ae, "onset_on") <= _dates(ae, "last_contact_on")).all()
    dead = fu[fu["status"] == "dead"]
    assert len(dead) > 0 and (dead["death_on"] == dead["last_contact_on"]).all()
    fatal = ae[ae["outcome"] == "fatal"]
    assert set(zip(fatal.site_code, fatal.patient_ref, strict=True)) == set(
        zip(dead.loc[dead.cohort != "historical_control", "site_code"],
            dead.loc[dead.cohort != "historical_control", "patient_ref"], strict=True))
    assess = t["assessments"].merge(fu, on=key)
    assert (_dates(assess, "assessed_on") <= _dates(assess, "last_contact_on")).all()
    # historical controls come from the registry, retrospectively, from before the treated
    # period into its first years (so the calendar year of injury can be adjusted for)
    hist = t["enrollments"][t["enrollments"]["cohort"] == "historical_control"]
    assert set(hist["site_code"]) == {"NRMD"} and set(hist["direction"]) == {"retrospective"}
    assert set(hist["source"]) == {"National regenerative-medicine registry"}
    assert hist["index_on"].min() >= "2019-01-01" and hist["index_on"].max() <= "2027-12-31"
    prosp = t["enrollments"][t["enrollments"]["cohort"] != "historical_control"]
    assert prosp["index_on"].min() >= "2026-04-01" and prosp["index_on"].max() <= "2029-03-31"
    conc_sites = set(prosp.loc[prosp.cohort == "concurrent_control", "site_code"])
    treat_sites = set(prosp.loc[prosp.cohort == "treated", "site_code"])
    assert treat_sites == {f"S0{i}" for i in range(1, 7)}
    assert conc_sites > treat_sites  # same and other sites


def test_assessments_have_windows_roles_and_gaps(sci: DemoData) -> None:
    t = sci.tables
    a = t["assessments"].merge(t["enrollments"], on=["site_code", "patient_ref"])
    a["day"] = (_dates(a, "assessed_on") - _dates(a, "index_on")).dt.days
    central = a[a["assessor_role"] == "blinded_central"]
    assert central["blinded"].all() and not a.loc[~a.index.isin(central.index), "blinded"].any()
    n = len(t["enrollments"])
    d49, d180 = central[central.visit == "day49"], central[central.visit == "day180"]
    assert n - 30 < len(d49) <= n and len(d180) < len(d49)
    in49 = (d49["day"] - 49).abs() <= 7
    in180 = (d180["day"] - 180).abs() <= 30
    assert in49.mean() > 0.95 and 0 < (~in180).sum() < 0.08 * len(d180)
    phys = a[a["assessor_role"] == "treating_physician"]
    assert 0 < len(phys) and set(phys["cohort"]) == {"treated", "concurrent_control"}
    assert set(central["value_text"]) <= set("ABCDE") and set(d49["value_text"]) <= set("ABC")
    adj = t["adjudications"].merge(t["assessments"], on="assessment_ref", suffixes=("", "_a"))
    assert (adj["assessor_role"] == "treating_physician").all()
    assert (adj["value_text"] != adj["value_text_a"]).all()


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = generate("sci", seed=5, **SMALL)
    b = generate("sci", seed=5, **SMALL)
    c = generate("sci", seed=6, **SMALL)
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.plan_yaml == b.plan_yaml
    assert not a.tables["assessments"].equals(c.tables["assessments"])
    g = generate("sci", seed=np.random.default_rng(5), **SMALL)
    pd.testing.assert_frame_equal(g.tables["patients"], a.tables["patients"])
    assert g.seed is None and a.seed == 5


def test_heart_shortfall_has_exactly_49_and_102(heart: DemoData) -> None:
    cohorts = heart.tables["enrollments"]["cohort"].value_counts().to_dict()
    assert cohorts == {"treated": 49, "concurrent_control": 102}
    assert len(heart.tables["lots"]) == 49
    a = heart.tables["assessments"]
    assert set(a["endpoint"]) == {"lvef"} and set(a["visit"]) == {"baseline", "week26"}
    assert a["value"].between(5, 80).all() and a["value_text"].isna().all()
    assert set(heart.tables["administrations"]["route"]) == {"epicardial"}


def test_bad_parameters_are_reported_together() -> None:
    with pytest.raises(DataError) as err:
        generate("sci", n_treated=-1, effect_size=2, missing_rate=1.5, treated_start="soon",
                 effect="big", accrual_years=0)
    fields = {p.field for p in err.value.problems}
    assert fields == {"n_treated", "effect_size", "missing_rate", "treated_start", "effect",
                      "accrual_years"}
    with pytest.raises(DataError) as err:
        generate("heart_failure_shortfall", accrual_years=0, n_sites=0)
    assert {p.field for p in err.value.problems} == {"n_sites", "accrual_years"}
    with pytest.raises(DataError, match="historical_end"):
        generate("sci", historical_start="2020-01-01", historical_end="2019-01-01")
    with pytest.raises(DataError):
        generate("gvhd")
    assert set(SCENARIOS) == {"sci", "heart_failure_shortfall"}
    assert defaults("sci")["n_treated"] == 120 and defaults("sci")["n_historical"] == 600


def test_write_csv_round_trips(tmp_path: Path) -> None:
    demo = generate("sci", seed=2, **SMALL)
    demo.write_csv(tmp_path)
    assert (tmp_path / "plan.yaml").read_text() == demo.plan_yaml
    back = pd.read_csv(tmp_path / "assessments.csv", dtype=str, keep_default_na=False)
    assert set(back["blinded"]) == {"true", "false"}
    assert len(back) == len(demo.tables["assessments"])
    lots = pd.read_csv(tmp_path / "lot_results.csv")
    np.testing.assert_allclose(lots["value"], demo.tables["lot_results"]["value"])


def test_summary_names_tables_and_truth(sci: DemoData) -> None:
    text = sci.summary()
    assert "assessments" in text and "att_risk_difference" in text and "treated" in text
    assert sci.to_dict()["scenario"] == "sci"


def test_demo_package_imports_only_what_it_may() -> None:
    allowed = {"numpy", "pandas", "regmed.errors", "regmed.results", "regmed.demo",
               "__future__", "dataclasses", "math", "collections", "pathlib", "typing"}
    # the single-cell simulator keeps counts sparse (scipy) and builds AnnData on request
    extra = {"singlecell.py": {"scipy", "anndata"}}
    root = Path(__file__).resolve().parents[2] / "src" / "regmed" / "demo"
    for path in root.glob("*.py"):
        ok = allowed | extra.get(path.name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert any(name == a or name.startswith(a + ".") for a in ok), (path, name)
