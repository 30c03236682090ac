"""fit_cox against R's survival::coxph (survival 3.5-3).

Reference: tests/reference/evidence/survival/make_reference.R. Tolerances: log hazard ratios
1e-6 absolute, standard errors (model-based and robust) 1e-5 relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence.cox import fit_cox

REF = Path(__file__).parents[1] / "reference" / "evidence" / "survival"
EXPECTED = json.loads((REF / "expected.json").read_text())["cox"]
LUNG = pd.read_csv(REF / "lung.csv")
VET = pd.read_csv(REF / "veteran.csv")
SIM = pd.read_csv(REF / "sim_matched.csv")

CASES: dict[str, tuple[pd.DataFrame, list[str], dict[str, Any]]] = {
    "lung_efron": (LUNG, ["age", "sex", "ph.ecog"], {}),
    "lung_breslow": (LUNG, ["age", "sex", "ph.ecog"], {"ties": "breslow"}),
    "lung_cluster_inst": (LUNG, ["age", "sex", "ph.ecog"], {"cluster": "inst"}),
    "lung_strata_sex": (LUNG, ["age", "ph.ecog"], {"strata": "sex"}),
    "veteran_efron": (VET, ["trt2", "karno", "age"], {}),
    "veteran_strata_robust": (VET, ["trt2", "karno"], {"strata": "celltype", "robust": True}),
    "sim_weights_cluster": (SIM, ["treat"], {"weights": "weights", "cluster": "subclass"}),
    "sim_weights_robust": (SIM, ["treat", "x"], {"weights": "weights", "robust": True}),
    "sim_weights_naive": (SIM, ["treat", "x"], {"weights": "weights"}),
    "sim_cluster_strata_site": (SIM, ["treat", "x"], {"strata": "site", "cluster": "subclass"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cox_matches_coxph(name: str) -> None:
    df, covs, kw = CASES[name]
    ref = {k: v if isinstance(v, (list, bool)) else [v] for k, v in EXPECTED[name].items()}
    fit = fit_cox(df, "time", "event", covs, **kw)
    est = fit.estimates
    assert list(est["term"]) == ref["term"]
    np.testing.assert_allclose(est["estimate"], ref["estimate"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(est["std_error"], ref["std_error"], rtol=1e-5)
    np.testing.assert_allclose(fit.naive_se, ref["naive_se"], rtol=1e-5)
    np.testing.assert_allclose(est["statistic"], ref["statistic"], rtol=1e-5)
    np.testing.assert_allclose(est["p_value"], ref["p_value"], rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(est["ci_lower"], ref["ci_lower"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(est["ci_upper"], ref["ci_upper"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.loglik, ref["loglik"], rtol=1e-8)
    assert fit.options["robust"] == EXPECTED[name]["robust"]


def test_cox_rejects_bad_input() -> None:
    bad = LUNG.assign(event=LUNG["event"] * 2, time=-LUNG["time"])
    with pytest.raises(DataError) as err:
        fit_cox(bad, "time", "event", ["age"])
    assert len(err.value.problems) == 2
    with pytest.raises(DataError):
        fit_cox(LUNG, "time", "event", ["nosuch"])
