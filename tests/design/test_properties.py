"""Properties of regmed.design that do not need R: definitions, invariants, validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from regmed import design
from regmed.errors import PlanError


def _fields(err: PlanError) -> set[str | None]:
    return {p.field for p in err.problems}


def test_validation_collects_every_problem_and_names_arguments():
    with pytest.raises(PlanError) as info:
        design.sample_size_rates(p_treated=1.2, p_control=0.3, alpha=0, sided=3,
                                 allocation_ratio=-1)
    assert {"p_treated", "alpha", "sided", "allocation_ratio"} <= _fields(info.value)
    assert "p_treated" in str(info.value)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: design.sample_size_means(difference=0, sd=1), "difference"),
        (lambda: design.sample_size_means(difference=1, sd=-1), "sd"),
        (lambda: design.sample_size_survival(hazard_ratio=0.7, accrual_time=12,
                                             follow_up_time=6), "median_control"),
        (lambda: design.sample_size_survival(hazard_ratio=1, median_control=5,
                                             accrual_time=12, follow_up_time=6),
         "hazard_ratio"),
        (lambda: design.sample_size_single_arm(p0=0.4, p1=0.3), "p1"),
        (lambda: design.group_sequential(information_rates=[0.6, 0.4, 1]),
         "information_rates"),
        (lambda: design.group_sequential(information_rates=[0.5, 0.9]), "information_rates"),
        (lambda: design.group_sequential(information_rates=[0.5, 1], spending="HSD"), "gamma"),
        (lambda: design.group_sequential(information_rates=[0.5, 1], sided=2, futility="OF"),
         "futility"),
        (lambda: design.randomization_list(10, block_sizes=(3,)), "block_sizes"),
        (lambda: design.randomization_list(0), "n"),
        (lambda: design.reestimate_sample_size(z1=1, n1=50, n2_planned=50, n2_max=40),
         "n2_max"),
        (lambda: design.power_rates(p_treated=0.4, p_control=0.2, n_treated=1, n_control=30),
         "n_treated"),
    ],
)
def test_validation_names_the_argument(call, field):
    with pytest.raises(PlanError) as info:
        call()
    assert field in _fields(info.value)


def test_rounding_is_per_group_ceiling():
    r = design.sample_size_rates(p_treated=0.45, p_control=0.25, allocation_ratio=0.5)
    assert r.n_treated_rounded == math.ceil(r.n_treated)
    assert r.n_control_rounded == math.ceil(r.n_control)
    assert r.n_total_rounded == r.n_treated_rounded + r.n_control_rounded
    assert r.n_control == pytest.approx(2 * r.n_treated)


def test_power_at_the_computed_sample_size_is_the_target():
    r = design.sample_size_means(difference=5, sd=12, power=0.9, allocation_ratio=2)
    p = design.power_means(difference=5, sd=12, n_treated=r.n_treated, n_control=r.n_control)
    assert p.power == pytest.approx(0.9, abs=1e-6)
    s = design.sample_size_survival(hazard_ratio=0.7, lambda_control=0.05, accrual_time=12,
                                    follow_up_time=12, allocation_ratio=2)
    ps = design.power_survival(hazard_ratio=0.7, events=s.events, allocation_ratio=2)
    assert ps.power == pytest.approx(0.8, abs=1e-9)


def test_single_arm_is_smallest_and_critical_is_smallest():
    r = design.sample_size_single_arm(p0=0.2, p1=0.4, alpha=0.05, power=0.8)
    assert stats.binom.sf(r.critical - 1, r.n, 0.2) <= 0.05
    assert stats.binom.sf(r.critical - 2, r.n, 0.2) > 0.05
    for n in range(1, r.n):
        assert design.power_single_arm(p0=0.2, p1=0.4, n=n, alpha=0.05).power < 0.8


def test_one_stage_group_sequential_is_the_fixed_design():
    d = design.group_sequential(information_rates=[1], alpha=0.025)
    assert d.critical_values[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-9)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("spending", ["OF", "P"])
def test_boundaries_spend_exactly_alpha_under_h0(spending):
    d = design.group_sequential(information_rates=[0.3, 0.7, 1], spending=spending)
    up, low, _ = design.rejection_probabilities(d.information_rates, d.critical_values, 0.0)
    assert np.cumsum(up) == pytest.approx(d.alpha_spent, abs=1e-9)
    assert low.sum() == 0


def test_futility_bounds_lie_below_efficacy_and_spend_beta():
    d = design.group_sequential(information_rates=[0.3, 0.6, 1], futility="P")
    assert all(f < c for f, c in zip(d.futility_bounds, d.critical_values, strict=False))
    theta = math.sqrt(d.shift)
    up, _, fut = design.rejection_probabilities(
        d.information_rates, d.critical_values, theta, futility_bounds=d.futility_bounds)
    assert np.cumsum(fut[:-1]) == pytest.approx(d.beta_spent[:-1], abs=1e-8)
    assert up.sum() == pytest.approx(0.8, abs=1e-8)


def test_conditional_power_two_stage_closed_form():
    d = design.group_sequential(information_rates=[0.5, 1])
    cp = design.conditional_power(design=d, z_stages=[1.1], n_planned=[80], effect=0.3)
    w = math.sqrt(0.5)
    b = (d.critical_values[1] - w * 1.1) / w
    assert cp.conditional_power == pytest.approx(stats.norm.sf(b - 0.3 * math.sqrt(20)),
                                                 abs=1e-9)
    trend = design.conditional_power(design=d, z_stages=[1.1], n_planned=[80], n_stages=[80])
    assert trend.effect_source == "trend"
    assert trend.effect == pytest.approx(1.1 / math.sqrt(20))


def test_reestimation_zones_and_target():
    kw = dict(n1=100, n2_planned=100, n2_max=400)
    assert design.reestimate_sample_size(z1=0.2, **kw).zone == "unfavorable"
    assert design.reestimate_sample_size(z1=2.6, **kw).zone == "favorable"
    r = design.reestimate_sample_size(z1=1.6, **kw)
    assert r.zone == "promising"
    assert r.n2 > 100
    assert r.conditional_power_trend_new >= 0.9
    smaller = design.reestimate_sample_size(z1=1.6, **{**kw, "n2_max": r.n2 - 1})
    assert smaller.n2 == r.n2 - 1 and smaller.conditional_power_trend_new < 0.9
    assert design.reestimate_sample_size(
        z1=3.5, design=design.group_sequential(information_rates=[0.5, 1]), **kw
    ).zone == "stop_efficacy"


def test_reestimation_critical_values_describe_the_same_test():
    r = design.reestimate_sample_size(z1=1.4, n1=100, n2_planned=100, n2_max=300)
    w1, w2 = r.weights
    for z2 in np.linspace(-1, 4, 41):
        chw = w1 * 1.4 + w2 * z2 >= r.critical_value
        pooled = (10 * 1.4 + math.sqrt(r.n2) * z2) / math.sqrt(100 + r.n2)
        assert chw == (z2 >= r.critical_value_stage2)
        assert chw == (pooled >= r.critical_value_conventional - 1e-12)


def test_chw_type_one_error_is_alpha_by_quadrature():
    # P(reject | H0) = E[1 - Phi(b(z1))] whatever n2 the rule picks; the naive pooled test
    # with a re-sizing rule that increases n2 for poor interim results inflates it.
    c = stats.norm.isf(0.025)
    w = math.sqrt(0.5)

    z1 = np.linspace(-9, 9, 360_001)
    n2, _ = design.promising_zone_n2(z1, n1=100, n2_planned=100, n2_max=300, w1=w, c2=c,
                                     target_power=0.9, cp_min=0.0, rule="conditional_power")
    assert n2.max() == 300 and n2.min() == 100

    def level(chw: bool) -> float:
        if chw:
            b = (c - w * z1) / w
        else:
            b = (c * np.sqrt(100 + n2) - 10 * z1) / np.sqrt(n2)
        return float(integrate.trapezoid(stats.norm.pdf(z1) * stats.norm.sf(b), z1))

    assert level(True) == pytest.approx(0.025, abs=1e-7)
    assert level(False) > 0.027


def test_randomization_is_reproducible_and_balanced_in_blocks():
    a = design.randomization_list(50, ratio=(1, 2), block_sizes=(3, 6, 9),
                                  strata=["site A", "site B"], rng=42)
    b = design.randomization_list(50, ratio=(1, 2), block_sizes=(3, 6, 9),
                                  strata=["site A", "site B"], rng=42)
    c = design.randomization_list(50, ratio=(1, 2), block_sizes=(3, 6, 9),
                                  strata=["site A", "site B"], rng=43)
    assert a.assignments.equals(b.assignments)
    assert not a.assignments["arm"].equals(c.assignments["arm"])
    frame = a.assignments
    assert set(frame["block_size"]) <= {3, 6, 9}
    assert len(set(frame["block_size"])) > 1
    for (_, _), block in frame.groupby(["stratum", "block"]):
        assert len(block) == block["block_size"].iloc[0]
        counts = block["arm"].value_counts()
        assert counts["control"] == 2 * counts["treated"]
    for _stratum, rows in frame.groupby("stratum"):
        assert len(rows) >= 50
        assert list(rows["sequence"]) == list(range(1, len(rows) + 1))
    assert frame["salt"].is_unique


def test_sealed_list_conceals_and_verifies():
    r = design.randomization_list(12, rng=7)
    sealed = r.sealed()
    assert "arm" not in sealed.columns and "salt" not in sealed.columns
    row = r.assignments.iloc[3]
    digest = sealed["digest"].iloc[3]
    assert design.verify_assignment(sequence=row["sequence"], stratum=row["stratum"],
                                    arm=row["arm"], salt=row["salt"], digest=digest)
    other = "control" if row["arm"] == "treated" else "treated"
    assert not design.verify_assignment(sequence=row["sequence"], stratum=row["stratum"],
                                        arm=other, salt=row["salt"], digest=digest)
    assert sealed["digest"].is_unique


def test_generator_is_accepted_and_seed_recorded():
    r = design.randomization_list(8, rng=np.random.default_rng(1))
    assert r.seed is None and len(r.assignments) >= 8
    r2 = design.randomization_list(8)
    again = design.randomization_list(8, rng=r2.seed)
    assert r2.assignments.equals(again.assignments)


@pytest.mark.parametrize(
    "result",
    [
        design.sample_size_rates(p_treated=0.4, p_control=0.2),
        design.sample_size_survival(hazard_ratio=0.6, median_control=18, accrual_time=24,
                                    follow_up_time=12),
        design.sample_size_single_arm(p0=0.15, p1=0.35),
        design.group_sequential(information_rates=[0.5, 1], futility="OF"),
        design.power_rates(p_treated=0.45, p_control=0.25, n_treated=49, n_control=102),
        design.reestimate_sample_size(z1=1.5, n1=60, n2_planned=60, n2_max=180),
        design.randomization_list(6, rng=1),
    ],
)
def test_results_are_frozen_serializable_and_summarized(result):
    data = result.to_dict()
    assert json.loads(json.dumps(data))["type"] == type(result).__name__
    assert data["options"] == json.loads(json.dumps(result.options))
    text = result.summary()
    assert type(result).__name__ in text
    with pytest.raises(AttributeError):
        result.options = {}  # type: ignore[misc]
