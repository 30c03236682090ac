"""Variance components against lme4::lmer (REML) and confint(method = "profile")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import variance_components

from ._ref import REF, load

EXPECTED = load("variance_components.json")


@pytest.mark.parametrize("case", ["nested", "single", "auto"])
def test_matches_lme4(case: str) -> None:
    exp = EXPECTED[case]
    vc = variance_components(pd.read_csv(REF / f"vc_{case}.csv"))
    comp = vc.components.set_index("component")
    for name, var, sd, lo, hi in zip(exp["component"], exp["variance"], exp["sd"],
                                     exp["sd_ci_lower"], exp["sd_ci_upper"], strict=True):
        assert comp.at[name, "variance"] == pytest.approx(var, rel=1e-4)
        assert comp.at[name, "sd"] == pytest.approx(sd, rel=1e-4)
        # lme4 interpolates its profile with splines: agreement to ~5e-5
        assert comp.at[name, "sd_ci_lower"] == pytest.approx(lo, rel=2e-4)
        assert comp.at[name, "sd_ci_upper"] == pytest.approx(hi, rel=2e-4)
    assert vc.mean == pytest.approx(exp["mean"], rel=1e-6)
    assert vc.mean_se == pytest.approx(exp["mean_se"], rel=1e-4)
    assert vc.reml_criterion == pytest.approx(exp["reml_criterion"], rel=1e-7)
    total = comp.loc[exp["component"], "variance"].sum()
    assert vc.icc_donor == pytest.approx(comp.at["donor", "variance"] / total)


def test_model_choice_follows_the_design() -> None:
    assert variance_components(pd.read_csv(REF / "vc_nested.csv"),
                               conf_level=None).formula.endswith("(1 | donor/lot)")
    single = variance_components(pd.read_csv(REF / "vc_single.csv"), conf_level=None)
    assert single.residual_meaning == "lot within donor"
    auto = variance_components(pd.read_csv(REF / "vc_auto.csv"), conf_level=None)
    assert any("one lot" in w for w in auto.warnings)


def test_attribute_filter_and_donor_from_lots() -> None:
    d = pd.read_csv(REF / "vc_single.csv")
    long = pd.concat([d.assign(attribute_code="via"),
                      d.assign(attribute_code="cd73", value=d["value"] * 10)])
    lots = long[["lot_code", "donor_code"]].drop_duplicates()
    vc = variance_components(long.drop(columns="donor_code"), "cd73", lots=lots,
                             conf_level=None)
    exp = EXPECTED["single"]
    assert vc.components.set_index("component").at["donor", "variance"] == pytest.approx(
        100 * exp["variance"][0], rel=1e-4)


def test_zero_component_is_a_boundary_fit() -> None:
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"donor_code": np.repeat([f"D{i}" for i in range(6)], 4),
                      "lot_code": [f"L{i}" for i in range(24)],
                      "value": rng.normal(size=24)})
    d.loc[d.donor_code == "D0", "value"] += 0.0  # no donor effect at all
    vc = variance_components(d, conf_level=None)
    donor = vc.components.set_index("component").at["donor", "variance"]
    assert donor >= 0.0
    assert vc.components["variance"].iloc[:2].sum() == pytest.approx(
        vc.components.set_index("component").at["total", "variance"])


def test_unidentifiable_design_is_refused() -> None:
    d = pd.DataFrame({"donor_code": ["A", "B", "C"], "lot_code": ["1", "2", "3"],
                      "value": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="one lot with one result"):
        variance_components(d)
    with pytest.raises(DataError, match="donor_code"):
        variance_components(d.drop(columns="donor_code"))


def test_several_attributes_need_a_choice() -> None:
    d = pd.read_csv(REF / "vc_single.csv")
    long = pd.concat([d.assign(attribute_code="via"), d.assign(attribute_code="cd73")])
    with pytest.raises(DataError, match="attribute="):
        variance_components(long)


@pytest.mark.parametrize("i", range(1, 7))
def test_more_designs_and_singular_fits_match_lme4(i: int) -> None:
    exp = load("vc_extra.json")[i - 1]
    vc = variance_components(pd.read_csv(REF / f"vc_extra_{i}.csv"), conf_level=None)
    names = {"lot_code:donor_code": "lot", "donor_code": "donor", "Residual": "residual"}
    comp = vc.components.set_index("component")["variance"]
    total = sum(exp["vcov"])
    for grp, var in zip(exp["grp"], exp["vcov"], strict=True):
        assert comp[names[grp]] == pytest.approx(var, rel=1e-4, abs=1e-6 * total), grp
    assert vc.reml_criterion == pytest.approx(exp["crit"], rel=1e-8)
