"""Scenario "heart_failure_shortfall": a HeartSheet-like survey that fell short of its plan.

Autologous skeletal-myoblast sheets implanted on the heart (one lot per treated patient) and
existing-therapy concurrent controls. The plan asked for 60 treated and 120 controls; the
survey finished with 49 and 102. The endpoint is an LVEF gain of >= 5 points from baseline to
week 26, read by a blinded echocardiography core laboratory. The true LVEF change is

``delta = mu0 + effect [treated] - 0.5 (age-65)/10 + 0.5 [NYHA II] - 1.0 [NYHA IV]
+ 0.15 (27 - true baseline LVEF) + N(0, 6^2)``

and each reading adds N(0, 2.5^2) error, so a patient's chance of a >= 5-point measured gain is
``1 - Phi((5 - E delta) / sqrt(6^2 + 2 * 2.5^2))``. ``mu0`` is calibrated so that controls gain
>= 5 points with probability 0.40; the default ``effect`` (2 points) makes the true risk
difference about 0.11, for which 49 vs 102 patients give about 30% power (rpact); under
the plan's own assumptions (0.62 vs 0.40) they would give 72%.

``truth`` keys: ``control_rate``, ``mu0``, ``effect``, ``sd_change``, ``sd_reading``,
``threshold``, ``att_risk_difference``, ``att_risk_difference_population``, ``rate_treated``,
``rate_treated_untreated``, ``rate_concurrent_control``, ``planned`` (the plan's design),
``n_treated``, ``n_control``, ``n_deaths``, ``n_lost``, ``n_week26_out_of_window``,
``n_oos_lots`` and ``patients`` (per patient: covariates, true and read LVEF, ``p_untreated``,
``p_treated``, the planted ``response``, ``died``, ``lost``, week-26 availability and window).

References
----------
Sawa Y, et al. Safety and efficacy of autologous skeletal myoblast sheets (TCD-51073) for the
treatment of severe chronic heart failure due to ischemic heart disease. Circ J
2015;79:991-999.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regmed.demo._common import (
    choice,
    days,
    frame,
    iso,
    norm_cdf,
    site_names,
    solve_mean,
    year_of,
)
from regmed.demo._lots import Attribute, ReceiptLimits, make_lots, patient_donors
from regmed.demo._plans import HEART_SAMPLE_SIZE, heart_plan
from regmed.demo._records import (
    AeKind,
    Visit,
    adjudications,
    adverse_events,
    assessments,
    assign_refs,
    follow_ups,
)

__all__ = ["HEART_DEFAULTS", "generate_heart"]

#: Parameters of the "heart_failure_shortfall" scenario and their defaults.
HEART_DEFAULTS: dict[str, Any] = {
    "n_treated": 49,             # treated patients actually enrolled (plan: 60)
    "n_control": 102,            # existing-therapy controls actually enrolled (plan: 120)
    "n_sites": 6,                # treating sites (also enrol controls)
    "n_other_sites": 2,          # sites that enrol controls only
    "effect": 2.0,               # LVEF points added to the mean week-26 change for treated
    "missing_rate": 0.05,        # drop-outs before week 26 (status lost)
    "death_rate": 0.08,          # deaths within ~200 days at age 65 (rises with age, NYHA IV)
    "out_of_window_rate": 0.03,  # week-26 readings outside 182 +- 28 days
    "physician_rate": 0.3,       # patients with a local (unblinded) echo reading as well
    "optimism_rate": 0.2,        # local reading 2 points higher at week 26 (treated)
    "oos_rate": 0.04,            # lots with a planted out-of-specification result
    "treated_start": "2016-04-01",
    "accrual_years": 5.0,
    "process_change_on": "2019-04-01",
    "approval_date": "2015-09-18",
}

CONTROL_RATE = 0.40
SD_DELTA, SD_READING, THRESHOLD = 6.0, 2.5, 5.0
SD_TOTAL = float(np.sqrt(SD_DELTA**2 + 2 * SD_READING**2))
PROFILES: dict[str, dict[str, Any]] = {
    "treated": {"age": (62.0, 10.0), "male": 0.85, "nyha": (0.30, 0.60, 0.10),
                "lvef": (26.0, 5.0), "bnp": 450.0},
    "control": {"age": (66.0, 10.0), "male": 0.80, "nyha": (0.35, 0.50, 0.15),
                "lvef": (28.0, 5.0), "bnp": 400.0},
}
CALIBRATION_SEED = 20150918
PRODUCT = ("SMS-HF", "Autologous skeletal-myoblast sheets for heart failure (demo)")
#: Receipt limits of the product (a receipt outside them has a documented deviation).
LIMITS = ReceiptLimits(15.0, 25.0, 120.0)
INDICATION = ("HF-ISCH", "Severe chronic heart failure due to ischemic heart disease")

ATTRIBUTES = [
    Attribute("cell_count", "Total cell count", "1e8 cells", "Automated cell counter", 1.0,
              None, 2, lambda r, v2: np.clip(r.normal(3.0, 0.5, v2.size), 1.05, None),
              lambda r, n: r.uniform(0.7, 0.99, n)),
    Attribute("viability", "Cell viability", "%", "Trypan blue exclusion", 60.0, None, 1,
              lambda r, v2: np.clip(r.normal(85.0, 4.0, v2.size), 62.0, 99.0),
              lambda r, n: r.uniform(50.0, 59.5, n)),
    Attribute("desmin_pct", "Desmin-positive cells", "%", "Immunocytochemistry", 60.0, None, 1,
              lambda r, v2: np.clip(r.normal(80.0, 6.0, v2.size), 61.0, 99.0),
              lambda r, n: r.uniform(45.0, 59.5, n)),
    Attribute("cd56_pct", "CD56-positive cells", "%", "Flow cytometry", 50.0, None, 1,
              lambda r, v2: np.clip(r.normal(75.0, 8.0, v2.size), 51.0, 99.0), None),
]
AE_KINDS = [
    AeKind("Postoperative fever", 0.20, 0.0, (1, 2), 0.0, ("possibly_related",),
           ("recovered",), True, 3),
    AeKind("Pericardial effusion", 0.05, 0.0, (2, 3), 0.6, ("possibly_related",),
           ("recovered", "recovering"), True, 14),
    AeKind("Ventricular tachycardia", 0.08, 0.0, (3,), 1.0, ("possibly_related", "unknown"),
           ("recovered",), True, 28),
    AeKind("Wound infection", 0.04, 0.0, (2,), 0.0, ("not_related",), ("recovered",), True, 14),
    AeKind("Worsening heart failure", 0.15, 0.15, (3,), 1.0, ("not_related",),
           ("recovered", "recovering")),
    AeKind("Pneumonia", 0.04, 0.04, (2, 3), 0.5, ("not_related",), ("recovered",)),
    AeKind("Acute kidney injury", 0.03, 0.03, (2, 3), 0.5, ("not_related",),
           ("recovered", "recovering")),
    AeKind("Atrial fibrillation", 0.06, 0.06, (2, 3), 0.3, ("not_related",), ("recovered",)),
]
DEATH_CAUSES = ("Cardiac death (heart failure)", "Sudden cardiac death", "Non-cardiac death")


def _covariates(rng: np.random.Generator, n: int, profile: str) -> dict[str, np.ndarray]:
    prof = PROFILES[profile]
    age = np.clip(np.round(rng.normal(prof["age"][0], prof["age"][1], size=n)), 30, 85).astype(int)
    male = rng.random(n) < prof["male"]
    nyha = choice(rng, ["II", "III", "IV"], prof["nyha"], n)
    lvef = np.clip(rng.normal(prof["lvef"][0], prof["lvef"][1], size=n), 12.0, 35.0)
    bnp = np.round(rng.lognormal(np.log(prof["bnp"]), 0.7, n) * np.where(nyha == "IV", 1.5, 1.0))
    return {"age": age, "male": male, "nyha": nyha, "lvef": lvef, "bnp": bnp}


def _mean_change(cov: dict[str, np.ndarray]) -> np.ndarray:
    """Expected LVEF change without intercept and treatment."""
    return (-0.5 * (cov["age"] - 65) / 10 + 0.5 * (cov["nyha"] == "II")
            - 1.0 * (cov["nyha"] == "IV") + 0.15 * (27 - cov["lvef"]))


def _p_gain(mean: np.ndarray) -> np.ndarray:
    return 1.0 - norm_cdf((THRESHOLD - mean) / SD_TOTAL)


def generate_heart(rng: np.random.Generator, p: dict[str, Any]) -> tuple[dict, dict, str]:
    """Generate the "heart_failure_shortfall" scenario; returns (tables, truth, plan_yaml)."""
    n_t, n_c = p["n_treated"], p["n_control"]
    n = n_t + n_c
    treated = np.arange(n) < n_t
    cohort = np.where(treated, "treated", "concurrent_control").astype(object)
    parts = [_covariates(rng, n_t, "treated"), _covariates(rng, n_c, "control")]
    cov = {k: np.concatenate([parts[0][k], parts[1][k]]) for k in parts[0]}

    treating = [f"H{i + 1:02d}" for i in range(p["n_sites"])]
    others = [f"H{i + 1:02d}" for i in range(p["n_sites"], p["n_sites"] + p["n_other_sites"])]
    site = np.asarray(treating, dtype=object)[rng.integers(0, len(treating), n)]
    if others:
        other = ~treated & (rng.random(n) < 0.3)
        site[other] = np.asarray(others, dtype=object)[rng.integers(0, len(others), other.sum())]
    refs = assign_refs(site)
    accrual = int(round(365.25 * float(p["accrual_years"])))
    index_on = days(p["treated_start"], rng.integers(0, max(accrual, 1), n))
    birth_year = year_of(index_on) - cov["age"]
    enroll_day = rng.integers(1, 15, n).astype(float)
    sex = np.where(cov["male"], "M", "F")

    ti = np.flatnonzero(treated)
    made_day = enroll_day[ti] + rng.integers(1, 4, n_t) + rng.integers(21, 29, n_t)
    lot_codes = [f"SMS-{y}-{k + 1:04d}" for k, y in enumerate(year_of(index_on[ti]))]
    donor_codes = [f"DH-{k + 1:05d}" for k in range(n_t)]
    lots = make_lots(
        rng, product_code=PRODUCT[0], attributes=ATTRIBUTES, lot_codes=lot_codes,
        donor_codes=donor_codes, donor_sex=sex[ti],
        donor_birth_year=birth_year[ti], site_codes=site[ti],
        manufactured_on=days(index_on[ti], made_day),
        process_change_on=p["process_change_on"], oos_rate=p["oos_rate"],
        cold_chain=(20.0, 1.5),
        limits=LIMITS,
    )
    admin_day = np.full(n, np.nan)
    admin_day[ti] = (lots.received_on - index_on[ti]).astype(int) + rng.integers(0, 2, n_t)

    # LVEF model
    rng_cal = np.random.default_rng(CALIBRATION_SEED)
    pop_c = _covariates(rng_cal, 30000, "control")
    pop_t = _covariates(rng_cal, 30000, "treated")
    mc = _mean_change(pop_c)
    mu0 = solve_mean(lambda b: float(_p_gain(b + mc).mean()), CONTROL_RATE, -30, 30)
    mean0 = mu0 + _mean_change(cov)
    mean1 = mean0 + p["effect"]
    p0, p1 = _p_gain(mean0), _p_gain(mean1)
    delta = np.where(treated, mean1, mean0) + rng.normal(0, SD_DELTA, n)
    lvef0 = np.round(cov["lvef"] + rng.normal(0, SD_READING, n), 1)
    lvef26 = np.round(np.clip(cov["lvef"] + delta + rng.normal(0, SD_READING, n), 5, 80), 1)
    local0 = np.round(cov["lvef"] + rng.normal(0, SD_READING, n), 1)
    bonus = np.where(treated, 2.0, 0.0) * (rng.random(n) < p["optimism_rate"])
    local26 = np.round(np.clip(cov["lvef"] + delta + bonus + rng.normal(0, SD_READING, n),
                               5, 80), 1)
    response = (lvef26 - lvef0) >= THRESHOLD

    # deaths, drop-outs, visits
    base_logit = np.log(p["death_rate"] / (1 - p["death_rate"])) if p["death_rate"] > 0 else -50
    risk = 1 / (1 + np.exp(-(base_logit + 0.4 * (cov["age"] - 65) / 10
                             + 0.8 * (cov["nyha"] == "IV"))))
    dies = rng.random(n) < risk
    first = np.where(treated, np.nan_to_num(admin_day), enroll_day)
    death_day = np.where(dies, first + 3 + rng.random(n) * (210 - first - 3), np.nan).round()
    lost = (rng.random(n) < p["missing_rate"]) & ~dies
    v0 = rng.integers(0, 8, n).astype(float)
    v26 = 182.0 + rng.integers(-21, 22, n)
    out = rng.random(n) < p["out_of_window_rate"]
    v26[out] = 182.0 + rng.choice([-1, 1], out.sum()) * rng.integers(29, 51, out.sum())
    has26 = ~lost & ~(dies & (death_day <= v26))
    last_day = np.where(dies, death_day, np.where(
        lost, 60 + rng.integers(0, 90, n), np.maximum(v26, 182) + rng.integers(0, 60, n)))
    status = np.where(dies, "dead", np.where(lost, "lost", "alive"))
    cause = np.asarray(DEATH_CAUSES, dtype=object)[rng.integers(0, len(DEATH_CAUSES), n)]

    phys = rng.random(n) < p["physician_rate"]
    visits = [Visit("baseline", v0, lvef0, phys, local0),
              Visit("week26", np.where(has26, v26, np.nan), lvef26, phys, local26)]
    assess, discordant = assessments(
        rng, endpoint="lvef", visits=visits, site_codes=site, refs=refs, index_on=index_on,
        numeric=True, central_assessors=["ECHO-CORE-01", "ECHO-CORE-02"])
    # the core laboratory adjudicates local readings that differ by more than 5 points
    far = discordant["week26"].copy()
    far[np.abs(local26 - lvef26) <= 5] = -1
    adjud = adjudications(rng, assess, far, lvef26, numeric=True)

    tables: dict[str, pd.DataFrame] = {
        "sites": frame("sites", {
            "site_code": treating + others,
            "name": site_names(len(treating) + len(others), offset=3),
            "country": ["JP"] * (len(treating) + len(others)),
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
        "baseline": frame("baseline", {
            "site_code": np.repeat(site, 3), "patient_ref": np.repeat(refs, 3),
            "variable": ["nyha_class", "baseline_lvef", "bnp"] * n,
            "value": np.column_stack([np.full(n, np.nan), lvef0, cov["bnp"]]).ravel(),
            "value_text": np.column_stack([cov["nyha"], np.full(n, None), np.full(n, None)]
                                          ).ravel(),
        }),
        "enrollments": frame("enrollments", {
            "site_code": site, "patient_ref": refs, "indication_code": [INDICATION[0]] * n,
            "cohort": cohort, "direction": ["prospective"] * n, "source": [None] * n,
            "index_on": iso(index_on), "enrolled_on": iso(days(index_on, enroll_day)),
        }),
        "administrations": frame("administrations", {
            "site_code": site[ti], "patient_ref": [refs[i] for i in ti], "lot_code": lot_codes,
            "administered_on": iso(days(index_on[ti], admin_day[ti])),
            "dose": lots.values["cell_count"].to_numpy() * 1e8, "dose_unit": ["cells"] * n_t,
            "route": ["epicardial"] * n_t, "surgery": [True] * n_t,
            "oos_request_documented": lots.oos,
        }),
        "assessments": assess,
        "adjudications": adjud,
        "adverse_events": adverse_events(
            rng, kinds=AE_KINDS, site_codes=site, refs=refs, index_on=index_on,
            collect=np.ones(n, dtype=bool), treated=treated, start_day=enroll_day,
            admin_day=admin_day, end_day=last_day, death_day=death_day, death_cause=cause),
        "follow_ups": follow_ups(
            site_codes=site, refs=refs, index_on=index_on, last_day=last_day, status=status,
            death_day=death_day, death_cause=cause),
    }
    pop_mean0 = mu0 + _mean_change(pop_t)
    patients = pd.DataFrame({
        "site_code": site, "patient_ref": refs, "cohort": cohort, "age": cov["age"], "sex": sex,
        "nyha_class": cov["nyha"], "true_baseline_lvef": cov["lvef"], "lvef_baseline": lvef0,
        "lvef_week26": np.where(has26, lvef26, np.nan), "p_untreated": p0,
        "p_treated": np.where(treated, p1, np.nan), "response": response, "died": dies,
        "lost": lost, "week26_observed": has26,
        "week26_in_window": has26 & (np.abs(v26 - 182) <= 28),
    })
    truth: dict[str, Any] = {
        "control_rate": CONTROL_RATE,
        "mu0": mu0,
        "effect": float(p["effect"]),
        "sd_change": SD_DELTA,
        "sd_reading": SD_READING,
        "threshold": THRESHOLD,
        "att_risk_difference": float(np.mean(p1[treated] - p0[treated])) if n_t else np.nan,
        "att_risk_difference_population": float(np.mean(
            _p_gain(pop_mean0 + p["effect"]) - _p_gain(pop_mean0))),
        "rate_treated": float(np.mean(p1[treated])) if n_t else np.nan,
        "rate_treated_untreated": float(np.mean(p0[treated])) if n_t else np.nan,
        "rate_concurrent_control": float(np.mean(p0[~treated])) if n_c else np.nan,
        "planned": dict(HEART_SAMPLE_SIZE),
        "n_treated": n_t, "n_control": n_c,
        "n_deaths": int(dies.sum()), "n_lost": int(lost.sum()),
        "n_week26_out_of_window": int((has26 & out).sum()),
        "n_oos_lots": int(lots.oos.sum()),
        "patients": patients,
    }
    return tables, truth, heart_plan(p)
