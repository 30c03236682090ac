"""Site heterogeneity, Mantel-Haenszel and calendar-time diagnostics against R (metafor 3.x,
mantelhaen.test, glm). Reference: tests/reference/evidence/effects/heterogeneity/. Tolerance
1e-8 relative unless stated."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence.heterogeneity import (
    calendar_trend,
    cochran_q,
    mantel_haenszel,
    period_coverage,
    site_effects,
    site_heterogeneity,
)
from regmed.evidence.sample import AdjustedSample

REF = Path(__file__).parents[1] / "reference" / "evidence" / "effects" / "heterogeneity"
EXP = json.loads((REF / "expected.json").read_text())
SITES = pd.read_csv(REF / "sites.csv")


@pytest.mark.parametrize(
    ("key", "measure", "outcome"),
    [("rd", "risk_difference", "y"), ("or", "log_odds_ratio", "y"),
     ("rr", "log_risk_ratio", "y"), ("md", "mean_difference", "score")],
)
def test_site_heterogeneity_matches_metafor(key: str, measure: str, outcome: str) -> None:
    ref = EXP[key]
    h = site_heterogeneity(SITES, outcome, "treat", "site", measure=measure)
    np.testing.assert_allclose(h.sites["estimate"], ref["yi"], rtol=1e-8)
    np.testing.assert_allclose(h.sites["std_error"] ** 2, ref["vi"], rtol=1e-8)
    est = h.estimates.set_index("term")
    assert est.loc["fixed", "estimate"] == pytest.approx(ref["fe"], rel=1e-8)
    assert est.loc["fixed", "std_error"] == pytest.approx(ref["fe_se"], rel=1e-8)
    assert est.loc["random", "estimate"] == pytest.approx(ref["dl"], rel=1e-8)
    assert est.loc["random", "std_error"] == pytest.approx(ref["dl_se"], rel=1e-8)
    assert h.q == pytest.approx(ref["q"], rel=1e-8)
    assert h.q_p == pytest.approx(ref["q_p"], rel=1e-8)
    assert h.tau2 == pytest.approx(ref["tau2"], rel=1e-8, abs=1e-12)
    assert h.i2 == pytest.approx(ref["i2"], rel=1e-8, abs=1e-10)


def test_mantel_haenszel_matches_rma_mh_and_mantelhaen() -> None:
    mh = mantel_haenszel(SITES, "y", "treat", "site")
    est = mh.estimates.set_index("term")
    for key, term in (("mh_or", "log_odds_ratio"), ("mh_rr", "log_risk_ratio"),
                      ("mh_rd", "risk_difference")):
        assert est.loc[term, "estimate"] == pytest.approx(EXP[key]["estimate"], rel=1e-8)
        assert est.loc[term, "std_error"] == pytest.approx(EXP[key]["se"], rel=1e-8)
        assert est.loc[term, "ci_lower"] == pytest.approx(EXP[key]["ci_lower"], rel=1e-8)
    mt = EXP["mantelhaen"]
    assert mh.odds_ratio == pytest.approx(mt["estimate"], rel=1e-8)
    np.testing.assert_allclose(mh.odds_ratio_ci, mt["ci"], rtol=1e-8)
    assert mh.cmh_statistic == pytest.approx(mt["statistic"], rel=1e-8)
    assert mh.cmh_p == pytest.approx(mt["p_value"], rel=1e-8)


def test_calendar_trend_matches_glm() -> None:
    ct = calendar_trend(SITES, "y", "year")
    ref = EXP["trend"]
    row = ct.estimates.iloc[0]
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-7)
    # R's glm stops at its deviance tolerance 1e-8, so its SE is ~1e-7 off the converged value
    assert row["std_error"] == pytest.approx(ref["std_error"], rel=1e-5)
    assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-5)
    np.testing.assert_allclose(ct.by_year["rate"], ref["rate"], rtol=1e-12)
    dates = SITES.assign(when=[dt.date(int(y), 6, 1) for y in SITES["year"]])
    assert calendar_trend(dates, "y", "when").estimates.iloc[0]["estimate"] == pytest.approx(
        ref["estimate"], rel=1e-7)


def test_cochran_q_by_hand_and_errors() -> None:
    h = cochran_q([0.1, 0.3, 0.2], [0.05, 0.05, 0.05])
    # equal weights: Q = sum((y - 0.2)^2) / 0.0025 = 8
    assert h.q == pytest.approx(8.0) and h.i2 == pytest.approx(75.0)
    assert h.q_p == pytest.approx(math.exp(-4.0))
    with pytest.raises(DataError):
        cochran_q([0.1], [0.1])
    with pytest.raises(DataError):
        site_heterogeneity(SITES, "y", "treat", "nosuch")


def test_period_coverage() -> None:
    pc = period_coverage(pd.to_datetime(["2021-04-01", "2022-01-10", "2023-03-31"]),
                         ["2021-01-01", "2022-12-31"])
    assert not pc.covers
    assert pc.gap_before_days == 0 and pc.gap_after_days == 90
    assert pc.overlap_days == (dt.date(2022, 12, 31) - dt.date(2021, 4, 1)).days + 1
    full = period_coverage(["2021-04-01", "2021-05-01"], ["2021-04-01", "2021-05-01"])
    assert full.covers and full.overlap_fraction == 1.0
    hist = period_coverage(["2022-01-01", "2022-12-31"], ["2015-01-01", "2018-12-31"])
    assert not hist.covers and hist.overlap_days == 0
    assert hist.gap_after_days == (dt.date(2022, 12, 31) - dt.date(2018, 12, 31)).days


@pytest.mark.parametrize(("key", "measure"), [("rd", "risk_difference"),
                                              ("lor", "log_odds_ratio")])
def test_site_effects_in_matched_sample(key: str, measure: str) -> None:
    ref = json.loads((REF / "expected_site_effects.json").read_text())
    md = pd.read_csv(REF.parent / "lalonde_nn1.csv")
    md["site"] = "S" + (md["subclass"] % 4).astype(str)
    s = AdjustedSample(md, md, "treat", (), "ATT", "matching", "subclass")
    h = site_effects(s, "employed", "site", measure=measure)
    r = ref[key]
    assert list(h.sites["site"]) == ref["site"]
    np.testing.assert_allclose(h.sites["estimate"], r["yi"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(h.sites["std_error"] ** 2, r["vi"], rtol=1e-6)
    assert h.q == pytest.approx(r["q"], rel=1e-6)
    assert h.q_p == pytest.approx(r["q_p"], rel=1e-6)
    assert h.estimates.iloc[0]["estimate"] == pytest.approx(r["fe"], rel=1e-6)
    assert h.i2 == pytest.approx(r["i2"], abs=1e-6)
