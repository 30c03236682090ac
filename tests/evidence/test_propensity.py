"""fit_propensity against R's glm (tests/reference/evidence/weighting/make_weighting.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import fit_propensity

REF = Path(__file__).parents[1] / "reference" / "evidence"
COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    "sim": ["x1", "x2", "x3", "bin", "site"],
}


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "weighting" / "expected.json").read_text())


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "matchit" / f"{name}.csv").set_index("id")


@pytest.mark.parametrize("name", ["lalonde", "sim"])
def test_glm_coefficients_scores_and_auc(ref: dict, name: str) -> None:
    r = ref[name]
    fit = fit_propensity(load(name), "treat", COVS[name])
    est = fit.estimates.set_index("term")
    assert list(est.index) == list(r["coef"])
    np.testing.assert_allclose(est["estimate"], list(r["coef"].values()), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(est["std_error"], list(r["se"].values()), rtol=1e-5)
    np.testing.assert_allclose(fit.ps.to_numpy(), r["ps"], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fit.logit_ps.to_numpy(), r["logit_ps"], rtol=1e-9, atol=1e-11)
    assert fit.deviance == pytest.approx(r["deviance"], rel=1e-10)
    assert fit.iterations == r["iterations"]
    assert fit.converged
    assert fit.auc == pytest.approx(r["auc"], abs=1e-12)
    np.testing.assert_allclose(fit.preference.to_numpy(), r["preference"], rtol=1e-9)
    assert fit.equipoise == pytest.approx(r["equipoise"], abs=1e-12)


def test_positivity_warning_on_lalonde() -> None:
    fit = fit_propensity(load("lalonde"), "treat", COVS["lalonde"])
    assert any(w.startswith("positivity") for w in fit.warnings)
    assert not any(w.startswith("separation") for w in fit.warnings)


def test_quasi_complete_separation_is_reported() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    df = pd.DataFrame({"t": (x > 0.5).astype(int), "x": x, "z": rng.normal(size=200)})
    fit = fit_propensity(df, "t", ["x", "z"])
    assert any("separation" in w for w in fit.warnings)


def test_penalty_shrinks_and_zero_penalty_is_glm(ref: dict) -> None:
    df = load("sim")
    plain = fit_propensity(df, "treat", COVS["sim"])
    zero = fit_propensity(df, "treat", COVS["sim"], penalty=0.0)
    ridge = fit_propensity(df, "treat", COVS["sim"], penalty=50.0)
    np.testing.assert_allclose(zero.estimates["estimate"], plain.estimates["estimate"])
    slopes = slice(1, None)
    assert np.all(
        np.abs(ridge.estimates["estimate"].to_numpy()[slopes])
        < np.abs(plain.estimates["estimate"].to_numpy()[slopes])
    )


def test_aliased_column_is_dropped_like_r() -> None:
    df = load("sim").assign(x1_copy=lambda d: 2 * d["x1"])
    fit = fit_propensity(df, "treat", ["x1", "x2", "x1_copy"])
    assert "x1_copy" not in fit.terms
    assert any("singularities" in w for w in fit.warnings)


def test_errors_are_collected() -> None:
    df = load("lalonde").copy()
    df.loc[df.index[3], "age"] = np.nan
    df["treat3"] = df["treat"] + (df.index == df.index[0])
    with pytest.raises(DataError) as err:
        fit_propensity(df, "treat", ["age", "nope"])
    fields = {p.field for p in err.value.problems}
    assert fields == {"age", "nope"}
    assert err.value.problems[1].row == 4 or err.value.problems[0].row == 4
    with pytest.raises(DataError, match="cannot fit"):
        fit_propensity(df, "treat3", ["educ"])
