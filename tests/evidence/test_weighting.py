"""weight() against direct R computations (tests/reference/evidence/weighting/make_weighting.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import Weighting, fit_propensity, weight

REF = Path(__file__).parents[1] / "reference" / "evidence"
COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    "sim": ["x1", "x2", "x3", "bin", "site"],
}
WEIGHT = json.loads((REF / "weighting" / "expected.json").read_text())


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "matchit" / f"{name}.csv").set_index("id")


@pytest.mark.parametrize("ds", ["lalonde", "sim"])
@pytest.mark.parametrize(
    "case", ["ATT", "ATE", "ATO", "ATE_trim005", "ATE_truncate095", "ATE_stabilized"]
)
def test_weights_and_ess(ds: str, case: str) -> None:
    ref = WEIGHT[ds]["cases"][case]
    df = load(ds)
    fit = fit_propensity(df, "treat", COVS[ds])
    w = weight(
        df,
        fit,
        ref["estimand"],
        trim=ref.get("trim"),
        truncate=ref.get("truncate"),
        stabilize=ref.get("stabilize", False),
    )
    assert isinstance(w, Weighting)
    np.testing.assert_allclose(w.data["weights"].to_numpy(), ref["weights"], rtol=1e-7)
    if "kept" in ref:
        assert list(w.data.index) == list(df.index[ref["kept"]])
        assert len(w.trimmed) == len(df) - len(ref["kept"])
    if "ess_treated" in ref:
        assert w.ess_treated == pytest.approx(ref["ess_treated"], rel=1e-7)
        assert w.ess_control == pytest.approx(ref["ess_control"], rel=1e-7)
    assert w.method == "weighting" and w.cluster is None
    assert w.estimand == ref["estimand"]


def test_truncation_counts_and_att_treated_untouched() -> None:
    df = load("sim")
    fit = fit_propensity(df, "treat", COVS["sim"])
    w = weight(df, fit, "ATT", truncate=0.9)
    treated = w.data["treat"] == 1
    assert (w.data.loc[treated, "weights"] == 1).all()
    n0 = int((~treated).sum())
    assert w.n_truncated == pytest.approx(0.1 * n0, abs=2)


def test_errors() -> None:
    df = load("sim")
    with pytest.raises(DataError) as err:
        weight(df, np.full(len(df), 1.2), "ATX", trim=0.7, treatment="treat")
    fields = {p.field for p in err.value.problems}
    assert fields == {"ps", "estimand", "trim"}


def test_duplicate_index_is_refused() -> None:
    df = load("sim")
    dup = pd.concat([df.iloc[:10], df.iloc[:10]])
    with pytest.raises(DataError, match="cannot weight"):
        weight(dup, np.full(20, 0.5), "ATE", treatment="treat")
