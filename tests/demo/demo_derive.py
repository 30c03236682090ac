"""Derive analysis frames from the demo's registry tables, as the plan's measurement says.

Independent of the generator: it reads only the import tables and applies the visit windows,
the blinded central assessor and the derivation rule named in the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["site_code", "patient_ref"]
GRADES = "ABCDE"


def _visit(tables: dict[str, pd.DataFrame], endpoint: str, visit: str, day: int,
           window: int) -> pd.Series:
    a = tables["assessments"]
    a = a[(a["endpoint"] == endpoint) & (a["visit"] == visit)
          & (a["assessor_role"] == "blinded_central")]
    a = a.merge(tables["enrollments"][[*KEY, "index_on"]], on=KEY)
    offset = (pd.to_datetime(a["assessed_on"]) - pd.to_datetime(a["index_on"])).dt.days
    a = a[(offset - day).abs() <= window]
    col = "value_text" if a["value"].isna().all() else "value"
    return a.set_index(KEY)[col]


def patient_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per patient: cohort, age, sex and the baseline covariates (wide)."""
    df = tables["enrollments"].merge(tables["patients"], on=KEY).set_index(KEY)
    base = tables["baseline"]
    num = base.dropna(subset=["value"]).pivot(index=KEY, columns="variable", values="value")
    txt = base.dropna(subset=["value_text"]).pivot(index=KEY, columns="variable",
                                                   values="value_text")
    df = df.join(num).join(txt)
    df["age"] = pd.to_datetime(df["index_on"]).dt.year - df["birth_year"]
    df["treated"] = (df["cohort"] == "treated").astype(float)
    return df


def ais_response(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Patients with both in-window central AIS grades and their response (0/1)."""
    df = patient_frame(tables)
    df["grade49"] = _visit(tables, "ais_grade", "day49", 49, 7)
    df["grade180"] = _visit(tables, "ais_grade", "day180", 180, 30)
    df = df.dropna(subset=["grade49", "grade180"]).copy()
    g0 = df["grade49"].map(GRADES.index)
    g1 = df["grade180"].map(GRADES.index)
    df["response"] = np.where(g0 == 0, g1 - g0 >= 2, g1 - g0 >= 1).astype(float)
    df["level"] = df["injury_level"].str[1:].astype(float)
    return df


def lvef_response(tables: dict[str, pd.DataFrame], threshold: float = 5.0) -> pd.DataFrame:
    """Patients with both in-window central LVEF readings and a gain of >= threshold (0/1)."""
    df = patient_frame(tables)
    df["lvef0"] = _visit(tables, "lvef", "baseline", 0, 14)
    df["lvef26"] = _visit(tables, "lvef", "week26", 182, 28)
    df = df.dropna(subset=["lvef0", "lvef26"]).copy()
    df["response"] = (df["lvef26"] - df["lvef0"] >= threshold).astype(float)
    return df


def lot_potency_z(tables: dict[str, pd.DataFrame], log_mean: float, log_sd: float
                  ) -> pd.Series:
    """Standardized log potency of the lot each treated patient received."""
    res = tables["lot_results"]
    pot = res[res["attribute_code"] == "potency_vegf"].set_index("lot_code")["value"]
    adm = tables["administrations"].set_index(KEY)["lot_code"]
    return (np.log(adm.map(pot)) - log_mean) / log_sd
