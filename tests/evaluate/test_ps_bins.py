"""The propensity-score distributions are stored as histograms (no score per patient): their
counts add up to the groups analysed and agree with the exported analysis data sets."""

from __future__ import annotations

import re

import numpy as np
import pytest

from regmed.evaluate import evaluate
from regmed.evaluate.comparison import PS_BINS
from regmed.plan import load_plan


def _weighting(text: str) -> str:
    return re.sub(r"method: propensity_matching, (covariates: \[[^]]*\]), caliper: 0.2, "
                  r"ratio: 2", r"method: propensity_weighting, \1, estimand: ATT", text)


@pytest.mark.parametrize("method", ["matching", "weighting"])
def test_binned_distributions_add_up_to_the_groups(sci, method: str) -> None:
    _, _, text, study = sci
    plan = load_plan(text if method == "matching" else _weighting(text))
    result = evaluate(plan, study, exploratory=True)
    analyses = [a for a in result.document["analyses"] if a["propensity"] is not None]
    assert analyses and {a["method"] for a in analyses} == {method}
    for a in analyses:
        p = a["propensity"]
        assert p["bins"] == pytest.approx(np.linspace(0, 1, PS_BINS + 1).tolist())
        rows = {(r["group"], r["stage"]): r for r in p["distribution"]}
        assert all("ps" not in r and len(r["counts"]) == PS_BINS for r in rows.values())
        assert sum(rows["treated", "before"]["counts"]) == p["n_treated"]
        assert sum(rows["control", "before"]["counts"]) == p["n_control"]
        assert sum(rows["treated", "after"]["counts"]) == a["n_treated"]
        assert sum(rows["control", "after"]["counts"]) == a["n_control"]
        # the histogram of the exported scores of the analysed patients is the stored one
        data = result.analysis_data[a["analysis_data"].removeprefix("analysis-data/")
                                    .removesuffix(".csv")]
        for group, flag in (("treated", 1), ("control", 0)):
            arm = data[data["treated"] == flag]
            counts, _ = np.histogram(arm["ps"], bins=p["bins"])
            assert rows[group, "after"]["counts"] == counts.tolist()
            if method == "weighting":
                sums, _ = np.histogram(arm["ps"], bins=p["bins"], weights=arm["weight"])
                assert rows[group, "after"]["weights"] == pytest.approx(sums.tolist(), abs=1e-5)
            else:
                assert "weights" not in rows[group, "after"]
