"""How often the "sci" demo meets its plan's criterion (RD >= 0.15, 95% CI lower bound > 0).

A rough stand-in for the evaluation (until ``regmed.evaluate`` exists): logistic propensity
score on the plan's covariates, greedy 1:2 nearest-neighbour matching on the logit without
replacement, caliper 0.2 SD of the logit, largest score first (MatchIt's defaults for these
options); risk difference with a simple binomial standard error. Concurrent controls only.
Prints, per effect, the mean estimate, the planted truth and the share of seeds that meet it.

Run: ``PYTHONPATH=src python benchmarks/demo_calibration.py [n_seeds]``
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm

from regmed.demo import generate

KEY = ["site_code", "patient_ref"]


def analysis_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    en = tables["enrollments"].merge(tables["patients"], on=KEY).set_index(KEY)
    base = tables["baseline"]
    num = base.dropna(subset=["value"]).pivot(index=KEY, columns="variable", values="value")
    txt = base.dropna(subset=["value_text"]).pivot(index=KEY, columns="variable",
                                                   values="value_text")
    df = en.join(num).join(txt)
    df["age"] = pd.to_datetime(df["index_on"]).dt.year - df["birth_year"]
    a = tables["assessments"]
    a = a[a["assessor_role"] == "blinded_central"].merge(tables["enrollments"], on=KEY)
    a["day"] = (pd.to_datetime(a["assessed_on"]) - pd.to_datetime(a["index_on"])).dt.days
    for visit, day, window in (("day49", 49, 7), ("day180", 180, 30)):
        v = a[(a["visit"] == visit) & ((a["day"] - day).abs() <= window)]
        df[visit] = v.set_index(KEY)["value_text"].map("ABCDE".index)
    df = df.dropna(subset=["day49", "day180"])
    gain = df["day180"] - df["day49"]
    df["response"] = np.where(df["day49"] == 0, gain >= 2, gain >= 1).astype(float)
    df = df[df["cohort"].isin(["treated", "concurrent_control"])].copy()
    df["treated"] = (df["cohort"] == "treated").astype(float)
    return df


def matched_rd(df: pd.DataFrame) -> tuple[float, float, int]:
    x = pd.DataFrame({"age": df["age"], "male": (df["sex"] == "M").astype(float),
                      "B": (df["ais_grade"] == "B").astype(float),
                      "C": (df["ais_grade"] == "C").astype(float),
                      "level": df["injury_level"].str[1:].astype(float),
                      "days": df["days_from_injury"], "motor": df["baseline_motor_score"]})
    ps = sm.Logit(df["treated"], sm.add_constant(x)).fit(disp=0).predict(sm.add_constant(x))
    lg = np.log(ps / (1 - ps)).to_numpy()
    caliper = 0.2 * lg.std(ddof=1)
    t = np.flatnonzero(df["treated"].to_numpy() == 1)
    free = set(np.flatnonzero(df["treated"].to_numpy() == 0).tolist())
    pairs: list[tuple[int, int]] = []
    for _ in range(2):
        for i in t[np.argsort(-lg[t])]:
            if not free:
                break
            c = np.fromiter(free, dtype=int)
            j = c[np.argmin(np.abs(lg[c] - lg[i]))]
            if abs(lg[j] - lg[i]) <= caliper:
                pairs.append((i, j))
                free.discard(int(j))
    y = df["response"].to_numpy()
    kept = sorted({i for i, _ in pairs})
    k = pd.Series([i for i, _ in pairs]).value_counts()
    w = np.array([1 / k[i] for i, _ in pairs])
    p1 = y[kept].mean()
    p0 = float((y[[j for _, j in pairs]] * w).sum() / w.sum())
    se = float(np.sqrt(p1 * (1 - p1) / len(kept) + p0 * (1 - p0) / len(kept)))
    return float(p1 - p0), se, len(kept)


def main(n_seeds: int = 40) -> None:
    for effect in (0.0, 2.0):
        rows = []
        for seed in range(n_seeds):
            demo = generate("sci", seed=seed, effect=effect)
            rd, se, kept = matched_rd(analysis_frame(demo.tables))
            rows.append((rd, se, kept, demo.truth["att_risk_difference"]))
        r = np.array(rows)
        met = np.mean((r[:, 0] >= 0.15) & (r[:, 0] - 1.96 * r[:, 1] > 0))
        print(f"effect {effect}: mean RD {r[:, 0].mean():.3f} (sd {r[:, 0].std():.3f}), "
              f"truth {r[:, 3].mean():.3f}, treated kept {r[:, 2].mean():.0f}, "
              f"criterion met in {met:.0%} of {n_seeds} seeds")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
