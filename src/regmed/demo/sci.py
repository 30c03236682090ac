"""Scenario "sci": a Stemirac-like survey of autologous bone-marrow MSC in spinal cord injury.

Treated patients (one autologous lot each, donor = patient), concurrent controls at the same
and other sites, and historical controls from a national registry. The day-180 response
(AIS improvement of >= 2 grades from A, >= 1 grade from B or C, against the day-49 grade) follows
a logistic model:

``logit p = a[grade] + b_age (age-45)/10 + b_motor (motor-m[grade])/10 + b_days (days-12)/7
+ b_level (level-6) + era_effect [injured before the treated period]
+ (effect + potency_effect z) [treated]``

where ``z`` is the lot's standardized log potency (VEGF secretion) and the intercepts
``a[grade]`` are calibrated so that concurrent controls recover at the natural-history rates
(AIS A 8%, AIS B and C 60%; Fawcett et al. 2007, EMSCI).

Baseline differences make adjustment matter: treated patients are younger, more often AIS B/C,
enrolled sooner after injury. Only the lot's potency is linked to response (viability and the
markers are not). Every lot is released; lots with any result out of specification are
``released_oos`` with ``oos_request_documented`` true on the administration.

``truth`` keys: ``natural_rates``, ``intercepts``, ``coefficients``, ``effect``,
``potency_effect``, ``era_effect``, ``potency_standardization`` (attribute, log_mean, log_sd:
``z = (log potency - log_mean) / log_sd``), ``att_risk_difference`` (mean over the generated
treated patients of p(treated) - p(untreated)), ``att_risk_difference_population`` (the same
over the treated covariate distribution), ``rate_treated``, ``rate_treated_untreated``,
``rate_concurrent_control``, ``rate_historical_control`` (mean planted probabilities),
``n_treated``, ``n_concurrent``, ``n_historical``, ``n_deaths``, ``n_lost``,
``n_day180_out_of_window``, ``n_oos_lots``, ``n_process_v2_lots``, ``physician_optimism_rate``
and ``patients`` (one row per patient: covariates, lot and potency z, ``p_untreated``,
``p_treated``, the planted ``response``, ``grade_day180``, ``died``, ``lost``, and whether the
day-49 and day-180 central assessments exist and lie in their windows).

References
----------
Fawcett JW, et al. Guidelines for the conduct of clinical trials for spinal cord injury as
developed by the ICCP panel: spontaneous recovery after spinal cord injury and statistical
power needed for therapeutic clinical trials. Spinal Cord 2007;45:190-205.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regmed.demo._common import (
    choice,
    days,
    expit,
    frame,
    iso,
    optional,
    site_names,
    solve_mean,
    year_of,
)
from regmed.demo._lots import Attribute, ReceiptLimits, make_lots, patient_donors
from regmed.demo._plans import sci_plan
from regmed.demo._records import (
    AeKind,
    Visit,
    adjudications,
    adverse_events,
    assessments,
    assign_refs,
    follow_ups,
)

__all__ = ["SCI_DEFAULTS", "generate_sci"]

#: Parameters of the "sci" scenario and their defaults.
SCI_DEFAULTS: dict[str, Any] = {
    "n_treated": 120,            # treated patients (one lot each)
    "n_concurrent": 240,         # concurrent controls (prospective)
    "n_historical": 600,         # historical registry controls (retrospective)
    "n_sites": 6,                # treating sites (also enrol concurrent controls)
    "n_other_sites": 2,          # sites that enrol concurrent controls only
    "effect": 2.0,               # log-odds of response added for treated patients
    "potency_effect": 1.5,       # log-odds per SD of the lot's log potency (treated): strong
                                 # enough that the 120-patient CQA analysis finds it
    "era_effect": -0.3,          # log-odds added for injuries before the treated period
                                 # (older care; the registry's historical controls)
    "missing_rate": 0.05,        # drop-outs before day 180 (status lost)
    "death_rate": 0.02,          # deaths within ~200 days at age 45 (rises with age)
    "out_of_window_rate": 0.03,  # day-180 assessments outside 180 +- 30 (half as many at day 49)
    "physician_rate": 0.4,       # prospective patients also scored by the treating physician
    "optimism_rate": 0.2,        # physician scores one grade higher at day 180 (treated)
    "oos_rate": 0.04,            # lots with a planted out-of-specification result
    "treated_start": "2026-04-01",   # first injury date of treated and concurrent patients
    "accrual_years": 3.0,            # length of the treated (and concurrent) period
    "historical_start": "2019-01-01",
    # the national registry's controls are extracted retrospectively from 2019 on, into the
    # treated period (DOMAIN 6: control data cover the era), so the calendar year of injury
    # can enter the historical comparison's propensity model
    "historical_end": "2027-12-31",
    "process_change_on": "2027-10-01",  # lots made from this day on are process v2
    "approval_date": "2026-01-15",
}

GRADES = np.array(list("ABCDE"))
NATURAL_RATES = {"A": 0.08, "B": 0.60, "C": 0.60}
COEF = {"age_per_10y": -0.25, "motor_per_10": 0.30, "days_per_week": -0.15,
        "level_per_segment": 0.10}
MOTOR = {"A": (8.0, 4.0, 5.0), "B": (12.0, 4.0, 6.0), "C": (35.0, 3.0, 10.0)}
POTENCY_LOG_MEAN = float(np.log(800.0))
POTENCY_LOG_SD = 0.30
PROFILES: dict[str, dict[str, Any]] = {
    "treated": {"age": (40.0, 14.0), "male": 0.82, "grade": (0.32, 0.25, 0.43),
                "level": (0.24, 0.30, 0.24, 0.14, 0.08), "days": 8.0},
    "control": {"age": (46.0, 16.0), "male": 0.80, "grade": (0.42, 0.22, 0.36),
                "level": (0.30, 0.30, 0.22, 0.11, 0.07), "days": 10.0},
}
CALIBRATION_SEED = 20070101
PRODUCT = ("MSC-SCI", "Autologous bone-marrow MSC for spinal cord injury (demo)")
#: Receipt limits of the product (a receipt outside them has a documented deviation).
LIMITS = ReceiptLimits(None, -150.0, 120.0)
INDICATION = ("SCI-AIS-ABC", "Traumatic cervical spinal cord injury, AIS A/B/C")
REGISTRY = ("NRMD", "National regenerative-medicine registry")

ATTRIBUTES = [
    Attribute("cell_count", "Total viable cell count", "1e8 cells",
              "Automated cell counter, trypan blue", 0.5, None, 2,
              lambda r, v2: np.clip(r.normal(1.2, 0.25, v2.size), 0.55, None),
              lambda r, n: r.uniform(0.35, 0.49, n)),
    Attribute("viability", "Cell viability", "%", "Trypan blue exclusion", 70.0, None, 1,
              lambda r, v2: np.clip(r.normal(89.0, 4.0, v2.size) + 1.0 * v2, 72.0, 99.5),
              lambda r, n: r.uniform(60.0, 69.5, n)),
    Attribute("cd73_pct", "CD73-positive cells", "%", "Flow cytometry", 95.0, None, 1,
              lambda r, v2: 100.0 - np.clip(r.gamma(2.0, 0.6, v2.size), 0.05, 4.9), None),
    Attribute("cd90_pct", "CD90-positive cells", "%", "Flow cytometry", 95.0, None, 1,
              lambda r, v2: 100.0 - np.clip(r.gamma(2.0, 0.7, v2.size), 0.05, 4.9), None),
    Attribute("cd105_pct", "CD105-positive cells", "%", "Flow cytometry", 95.0, None, 1,
              lambda r, v2: 100.0 - np.clip(r.gamma(2.0, 0.9, v2.size), 0.05, 4.9),
              lambda r, n: r.uniform(88.0, 94.5, n)),
    Attribute("cd34_pct", "CD34-positive cells", "%", "Flow cytometry", None, 2.0, 2,
              lambda r, v2: np.clip(r.lognormal(np.log(0.4), 0.5, v2.size), 0.01, 1.95),
              lambda r, n: r.uniform(2.2, 4.0, n)),
    Attribute("cd45_pct", "CD45-positive cells", "%", "Flow cytometry", None, 2.0, 2,
              lambda r, v2: np.clip(r.lognormal(np.log(0.5), 0.5, v2.size), 0.01, 1.95),
              lambda r, n: r.uniform(2.2, 4.0, n)),
    Attribute("potency_vegf", "VEGF secretion (potency)", "pg/mL per 1e5 cells", "ELISA",
              300.0, None, 0,
              lambda r, v2: np.exp(r.normal(POTENCY_LOG_MEAN, POTENCY_LOG_SD, v2.size)),
              lambda r, n: r.uniform(180.0, 295.0, n)),
]

AE_KINDS = [
    AeKind("Fever", 0.15, 0.0, (1, 1, 2), 0.0, ("related", "possibly_related"), ("recovered",),
           after_administration=True),
    AeKind("Headache", 0.08, 0.0, (1, 2), 0.0, ("possibly_related",), ("recovered",), True),
    AeKind("Nausea", 0.05, 0.0, (1, 2), 0.0, ("possibly_related",), ("recovered",), True),
    AeKind("Chills", 0.05, 0.0, (1,), 0.0, ("related",), ("recovered",), True),
    AeKind("Hypotension", 0.02, 0.0, (2, 3), 0.3, ("possibly_related",), ("recovered",), True),
    AeKind("Pulmonary embolism", 0.01, 0.0, (3, 4), 1.0, ("possibly_related",),
           ("recovered", "recovering"), True, 7),
    AeKind("Urinary tract infection", 0.15, 0.15, (2,), 0.0, ("not_related",), ("recovered",)),
    AeKind("Pneumonia", 0.06, 0.06, (2, 3), 0.5, ("not_related",), ("recovered", "recovering")),
    AeKind("Pressure ulcer", 0.08, 0.08, (2, 3), 0.1, ("not_related",),
           ("recovered", "recovering")),
    AeKind("Deep vein thrombosis", 0.03, 0.03, (2, 3), 0.5, ("not_related", "unknown"),
           ("recovered", "recovering")),
    AeKind("Neuropathic pain", 0.10, 0.10, (1, 2), 0.0, ("not_related",),
           ("not_recovered", "recovering")),
]
DEATH_CAUSES = ("Respiratory failure", "Pneumonia", "Cardiac arrest", "Pulmonary embolism",
                "Sepsis")


def _motor_table(grade: np.ndarray) -> np.ndarray:
    """Rows (mean at C4, gain per segment, sd) of the motor-score model for each grade."""
    table = np.array([MOTOR[g] for g in "ABC"])
    return table[np.searchsorted(np.array(list("ABC")), grade.astype(str))]


def _by_grade(values: dict[str, float], grade: np.ndarray) -> np.ndarray:
    """``values[grade]`` for every patient."""
    table = np.array([values[g] for g in "ABC"])
    return table[np.searchsorted(np.array(list("ABC")), grade.astype(str))]


def _covariates(rng: np.random.Generator, n: int, profile: str) -> dict[str, np.ndarray]:
    """Baseline covariates of ``n`` patients drawn from a cohort profile."""
    prof = PROFILES[profile]
    age = np.clip(np.round(rng.normal(prof["age"][0], prof["age"][1], size=n)), 18, 80).astype(int)
    male = rng.random(n) < prof["male"]
    grade = choice(rng, ["A", "B", "C"], prof["grade"], n)
    level = rng.choice(np.arange(4, 9), size=n, p=np.asarray(prof["level"]))
    day = np.clip(2 + rng.poisson(prof["days"], size=n), 2, 35)
    m = _motor_table(grade)
    base, sd = m[:, 0] + m[:, 1] * (level - 4), m[:, 2]
    motor = np.clip(np.round(base + rng.normal(0, 1, n) * sd), 0, 100)
    return {"age": age, "male": male, "grade": grade, "level": level, "days": day,
            "motor": motor}


def _linear(cov: dict[str, np.ndarray]) -> np.ndarray:
    """The covariate part of the response log-odds (without intercept)."""
    m = _motor_table(cov["grade"])
    ref = m[:, 0] + 2 * m[:, 1]
    return (COEF["age_per_10y"] * (cov["age"] - 45) / 10
            + COEF["motor_per_10"] * (cov["motor"] - ref) / 10
            + COEF["days_per_week"] * (cov["days"] - 12) / 7
            + COEF["level_per_segment"] * (cov["level"] - 6))


def _calibration() -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Intercepts that give the natural-history rates in concurrent controls.

    Uses a large fixed sample of the control and treated covariate distributions (its own
    seed, independent of the user's), which is also used for population-level truths.
    """
    rng = np.random.default_rng(CALIBRATION_SEED)
    control = _covariates(rng, 30000, "control")
    treated = _covariates(rng, 30000, "treated")
    lp = _linear(control)
    intercepts = {}
    for g, target in NATURAL_RATES.items():
        sub = lp[control["grade"] == g]
        intercepts[g] = solve_mean(lambda b, s=sub: float(expit(b + s).mean()), target)
    treated["z"] = rng.normal(0.0, 1.0, 30000)
    return intercepts, treated


def _outcome_grade(rng: np.random.Generator, day49: np.ndarray, response: np.ndarray
                   ) -> np.ndarray:
    """Day-180 grade (0=A ... 4=E) from the day-49 grade and the response."""
    n = day49.size
    u = rng.random(n)
    gain = np.where(
        response,
        np.where(day49 == 0, np.where(u < 0.85, 2, 3), np.where(u < 0.8, 1, 2)),
        np.where((day49 == 0) & (u < 0.15), 1, 0),
    )
    return np.minimum(day49 + gain, 4)


def generate_sci(rng: np.random.Generator, p: dict[str, Any]) -> tuple[dict, dict, str]:
    """Generate the "sci" scenario; returns (tables, truth, plan_yaml)."""
    n_t, n_c, n_h = p["n_treated"], p["n_concurrent"], p["n_historical"]
    n = n_t + n_c + n_h
    cohort = np.array(["treated"] * n_t + ["concurrent_control"] * n_c
                      + ["historical_control"] * n_h, dtype=object)
    treated, hist = cohort == "treated", cohort == "historical_control"
    prospective = ~hist
    parts = [_covariates(rng, n_t, "treated"), _covariates(rng, n_c + n_h, "control")]
    cov = {k: np.concatenate([parts[0][k], parts[1][k]]) for k in parts[0]}

    # sites and dates
    treating = [f"S{i + 1:02d}" for i in range(p["n_sites"])]
    others = [f"S{i + 1:02d}" for i in range(p["n_sites"], p["n_sites"] + p["n_other_sites"])]
    site = np.empty(n, dtype=object)
    site[treated] = np.asarray(treating, dtype=object)[rng.integers(0, len(treating), n_t)]
    pool = np.asarray(treating + others, dtype=object)
    at_other = rng.random(n_c) < (0.3 if others else 0.0)
    pick_t = np.asarray(treating, dtype=object)[rng.integers(0, len(treating), n_c)]
    pick_o = pool[rng.integers(len(treating), len(pool), n_c)] if others else pick_t
    site[cohort == "concurrent_control"] = np.where(at_other, pick_o, pick_t)
    site[hist] = REGISTRY[0]
    refs = assign_refs(site)
    accrual = int(round(365.25 * float(p["accrual_years"])))
    hist_span = int((p["historical_end"] - p["historical_start"]).astype(int))
    index_on = np.where(
        prospective,
        days(p["treated_start"], rng.integers(0, max(accrual, 1), n)),
        days(p["historical_start"], rng.integers(0, hist_span + 1, n)),
    ).astype("datetime64[D]")
    birth_year = year_of(index_on) - cov["age"]
    enroll_day = cov["days"].astype(float)

    # lots for treated patients (donor = patient)
    ti = np.flatnonzero(treated)
    harvest = enroll_day[ti] + rng.integers(1, 4, n_t)
    made_day = harvest + rng.integers(14, 19, n_t)
    year = year_of(index_on[ti])
    lot_codes = [f"MSC-{y}-{k + 1:04d}" for k, y in enumerate(year)]
    donor_codes = [f"DN-{k + 1:05d}" for k in range(n_t)]
    sex = np.where(cov["male"], "M", "F")
    lots = make_lots(
        rng, product_code=PRODUCT[0], attributes=ATTRIBUTES, lot_codes=lot_codes,
        donor_codes=donor_codes, donor_sex=sex[ti], donor_birth_year=birth_year[ti],
        site_codes=site[ti], manufactured_on=days(index_on[ti], made_day),
        process_change_on=p["process_change_on"], oos_rate=p["oos_rate"],
        cold_chain=(-175.0, 6.0),
        limits=LIMITS,
    )
    admin_day = np.full(n, np.nan)
    received_day = (lots.received_on - index_on[ti]).astype(int)
    admin_day[ti] = received_day + rng.integers(0, 2, n_t)
    potency = lots.values["potency_vegf"].to_numpy(dtype=float)
    z = np.zeros(n)
    z[ti] = (np.log(potency) - POTENCY_LOG_MEAN) / POTENCY_LOG_SD

    # response model
    intercepts, pop_treated = _calibration()
    a = _by_grade(intercepts, cov["grade"])
    lp0 = a + _linear(cov) + p["era_effect"] * (index_on < p["treated_start"])
    p0 = expit(lp0)
    p1 = expit(lp0 + p["effect"] + p["potency_effect"] * z)
    prob = np.where(treated, p1, p0)
    response = rng.random(n) < prob
    g49 = np.searchsorted(GRADES, cov["grade"])
    g180 = _outcome_grade(rng, g49, response)

    # deaths, drop-outs, visit days
    risk = expit(np.log(p["death_rate"] / (1 - p["death_rate"])) + 0.5 * (cov["age"] - 45) / 10)
    if p["death_rate"] == 0:
        risk = np.zeros(n)
    dies = rng.random(n) < risk
    first = np.where(treated, np.nan_to_num(admin_day), enroll_day)
    death_day = np.where(dies, first + 3 + rng.random(n) * (200 - first - 3), np.nan).round()
    lost = (rng.random(n) < p["missing_rate"]) & ~dies
    v49 = 49.0 + rng.integers(-6, 7, n)
    out49 = rng.random(n) < p["out_of_window_rate"] / 2
    v49[out49] = 49.0 + rng.choice([-1, 1], out49.sum()) * rng.integers(8, 15, out49.sum())
    v49 = np.maximum(v49, enroll_day + 1)
    v180 = 180.0 + rng.integers(-25, 26, n)
    out180 = rng.random(n) < p["out_of_window_rate"]
    v180[out180] = 180.0 + rng.choice([-1, 1], out180.sum()) * rng.integers(31, 61, out180.sum())
    has49 = ~(dies & (death_day <= v49))
    has180 = has49 & ~lost & ~(dies & (death_day <= v180))
    lost_day = v49 + rng.integers(14, 90, n)
    last_day = np.where(dies, death_day, np.where(
        lost, lost_day, np.maximum(v180, 180) + rng.integers(0, 60, n)))
    status = np.where(dies, "dead", np.where(lost, "lost", "alive"))
    cause = np.asarray(DEATH_CAUSES, dtype=object)[rng.integers(0, len(DEATH_CAUSES), n)]

    # assessments: central always, the treating physician for some prospective patients
    phys = prospective & (rng.random(n) < p["physician_rate"])
    optimism = np.where(treated, p["optimism_rate"], p["optimism_rate"] / 3)
    phys180 = np.minimum(g180 + (rng.random(n) < optimism), 4)
    visits = [
        Visit("day49", np.where(has49, v49, np.nan), GRADES[g49], phys, GRADES[g49]),
        Visit("day180", np.where(has180, v180, np.nan), GRADES[g180], phys, GRADES[phys180]),
    ]
    assess, discordant = assessments(
        rng, endpoint="ais_grade", visits=visits, site_codes=site, refs=refs,
        index_on=index_on, numeric=False,
        central_assessors=[f"CRC-{k:02d}" for k in range(1, 5)],
    )
    adjud = adjudications(rng, assess, discordant["day180"], GRADES[g180], numeric=False)

    dose = lots.values["cell_count"].to_numpy() * 1e8 / np.clip(
        rng.normal(65, 10, n_t), 40, 110)
    tables: dict[str, pd.DataFrame] = {
        "sites": frame("sites", {
            "site_code": treating + others + [REGISTRY[0]],
            "name": site_names(len(treating) + len(others)) + [REGISTRY[1]],
            "country": ["JP"] * (len(treating) + len(others) + 1),
        }),
        "products": frame("products", {
            "product_code": [PRODUCT[0]], "name": [PRODUCT[1]], "type": ["autologous"],
            "approval_kind": ["conditional"], "approval_date": iso([p["approval_date"]]),
            **LIMITS.product_columns(),
        }),
        "indications": frame("indications", {
            "indication_code": [INDICATION[0]], "product_code": [PRODUCT[0]],
            "name": [INDICATION[1]],
        }),
        **lots.tables,
        "patients": frame("patients", {
            "site_code": site, "patient_ref": refs, "sex": sex, "birth_year": birth_year,
            "donor_code": patient_donors(n, ti, donor_codes),
        }),
        "baseline": _baseline(site, refs, cov, year_of(index_on)),
        "enrollments": frame("enrollments", {
            "site_code": site, "patient_ref": refs, "indication_code": [INDICATION[0]] * n,
            "cohort": cohort, "direction": np.where(hist, "retrospective", "prospective"),
            "source": optional(hist, REGISTRY[1]),
            "index_on": iso(index_on), "enrolled_on": iso(days(index_on, enroll_day)),
        }),
        "administrations": frame("administrations", {
            "site_code": site[ti], "patient_ref": [refs[i] for i in ti],
            "lot_code": lot_codes, "administered_on": iso(days(index_on[ti], admin_day[ti])),
            "dose": np.round(dose, -3), "dose_unit": ["cells/kg"] * n_t,
            "route": ["intravenous"] * n_t, "surgery": [False] * n_t,
            "oos_request_documented": lots.oos,
        }),
        "assessments": assess,
        "adjudications": adjud,
        "adverse_events": adverse_events(
            rng, kinds=AE_KINDS, site_codes=site, refs=refs, index_on=index_on,
            collect=prospective, treated=treated, start_day=enroll_day, admin_day=admin_day,
            end_day=last_day, death_day=death_day, death_cause=cause),
        "follow_ups": follow_ups(
            site_codes=site, refs=refs, index_on=index_on, last_day=last_day, status=status,
            death_day=death_day, death_cause=cause),
    }

    pop_lp = _by_grade(intercepts, pop_treated["grade"]) + _linear(pop_treated)
    pop_p0 = expit(pop_lp)
    pop_p1 = expit(pop_lp + p["effect"] + p["potency_effect"] * pop_treated["z"])
    patients = pd.DataFrame({
        "site_code": site, "patient_ref": refs, "cohort": cohort, "age": cov["age"],
        "sex": sex, "ais_grade": cov["grade"], "injury_level": cov["level"],
        "days_from_injury": cov["days"], "baseline_motor_score": cov["motor"],
        "index_year": year_of(index_on), "lot_code": None, "potency_z": np.nan,
        "p_untreated": p0, "p_treated": np.where(treated, p1, np.nan), "response": response,
        "grade_day180": GRADES[g180], "died": dies, "lost": lost,
        "day49_observed": has49, "day180_observed": has180,
        "day49_in_window": has49 & (np.abs(v49 - 49) <= 7),
        "day180_in_window": has180 & (np.abs(v180 - 180) <= 30),
    })
    patients.loc[ti, "lot_code"] = lot_codes
    patients.loc[ti, "potency_z"] = z[ti]
    conc = cohort == "concurrent_control"
    truth: dict[str, Any] = {
        "natural_rates": dict(NATURAL_RATES),
        "intercepts": intercepts,
        "coefficients": dict(COEF),
        "effect": float(p["effect"]),
        "potency_effect": float(p["potency_effect"]),
        "era_effect": float(p["era_effect"]),
        "potency_standardization": {"attribute": "potency_vegf", "log_mean": POTENCY_LOG_MEAN,
                                    "log_sd": POTENCY_LOG_SD},
        "att_risk_difference": float(np.mean(p1[treated] - p0[treated])) if n_t else np.nan,
        "att_risk_difference_population": float(np.mean(pop_p1 - pop_p0)),
        "rate_treated": float(np.mean(p1[treated])) if n_t else np.nan,
        "rate_treated_untreated": float(np.mean(p0[treated])) if n_t else np.nan,
        "rate_concurrent_control": float(np.mean(p0[conc])) if n_c else np.nan,
        "rate_historical_control": float(np.mean(p0[hist])) if n_h else np.nan,
        "n_treated": n_t, "n_concurrent": n_c, "n_historical": n_h,
        "n_deaths": int(dies.sum()), "n_lost": int(lost.sum()),
        "n_day180_out_of_window": int((has180 & out180).sum()),
        "n_oos_lots": int(lots.oos.sum()),
        "n_process_v2_lots": int((lots.process_version == "v2").sum()),
        "physician_optimism_rate": float(p["optimism_rate"]),
        "patients": patients,
    }
    return tables, truth, sci_plan(p)


def _baseline(site: np.ndarray, refs: list[str], cov: dict[str, np.ndarray],
              injury_year: np.ndarray) -> pd.DataFrame:
    """Five baseline rows per patient: AIS grade, injury level, days from injury, motor score
    and the calendar year of injury (the historical controls' era covariate)."""
    n = len(refs)
    variables = ["ais_grade", "injury_level", "days_from_injury", "baseline_motor_score",
                 "injury_year"]
    value = np.column_stack([np.full(n, np.nan), np.full(n, np.nan),
                             cov["days"].astype(float), cov["motor"].astype(float),
                             injury_year.astype(float)])
    text = np.column_stack([cov["grade"], np.array([f"C{v}" for v in cov["level"]], dtype=object),
                            np.full(n, None, dtype=object), np.full(n, None, dtype=object),
                            np.full(n, None, dtype=object)])
    return frame("baseline", {
        "site_code": np.repeat(site, 5), "patient_ref": np.repeat(refs, 5),
        "variable": variables * n, "value": value.ravel(), "value_text": text.ravel(),
    })
