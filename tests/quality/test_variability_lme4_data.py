"""One-factor variance components on lme4's own data sets (issue 14, defect 5b).

Reference: tests/reference/quality/vc_lme4_data.R -- ``lmer(y ~ 1 + (1 | f), REML = TRUE)``
and ``confint(method = "profile")`` on Dyestuff, Dyestuff2 (zero batch variance) and
Penicillin (plate alone, sample alone), called as ``donor_key = lot_key = f``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import variance_components

from ._ref import REF, load

EXPECTED = {k: v for k, v in load("vc_lme4_data.json").items() if k != "source"}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_one_factor_is_lmer(case: str) -> None:
    exp = EXPECTED[case]
    data = pd.read_csv(REF / exp["data"])
    vc = variance_components(data, donor_key=exp["factor"], lot_key=exp["factor"],
                             value=exp["value"])
    assert vc.formula == "value ~ 1 + (1 | lot)"
    comp = vc.components.set_index("component")
    for i, name in enumerate(["lot", "residual"]):
        # lme4's optimizer stops within ~1e-6 of theta: Penicillin's sample variance differs
        # by 7.6e-7 relative, and our REML criterion is the lower one (by 1.1e-12)
        assert comp.at[name, "variance"] == pytest.approx(exp["variance"][i], rel=2e-6, abs=1e-9)
        # lme4 interpolates its profile with splines: agreement to ~5e-5
        assert comp.at[name, "sd_ci_lower"] == pytest.approx(exp["sd_ci_lower"][i], rel=2e-4)
        assert comp.at[name, "sd_ci_upper"] == pytest.approx(exp["sd_ci_upper"][i], rel=2e-4)
    assert vc.mean == pytest.approx(exp["mean"], rel=1e-9)
    assert vc.mean_se == pytest.approx(exp["mean_se"], rel=1e-6)
    assert vc.reml_criterion == pytest.approx(exp["reml_criterion"], rel=1e-9)
    assert any("singular" in w for w in vc.warnings) == exp["singular"]
    assert vc.n_lots == data[exp["factor"]].nunique()


def test_one_factor_without_replicates_is_refused_clearly() -> None:
    d = pd.DataFrame({"Batch": list("ABCDEF"), "Yield": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(DataError, match="'Batch'.*replicate"):
        variance_components(d, donor_key="Batch", lot_key="Batch", value="Yield")


def test_non_numeric_value_names_its_rows() -> None:
    d = pd.read_csv(REF / "vc_dyestuff.csv").astype({"Yield": object})
    d.loc[[3, 7], "Yield"] = "n/a"
    with pytest.raises(DataError, match="'Yield' is not a number in rows 3, 7"):
        variance_components(d, donor_key="Batch", lot_key="Batch", value="Yield")
