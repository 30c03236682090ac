"""Input and regmed's imputations for the MatchThem reference (issue 13).

Run from the repository root with the project's Python:
    PYTHONPATH=src python tests/reference/evaluate/mi_runner/make_input.py
Writes patients.csv (the analysis patients with missing outcomes and covariates) and, for each
scenario, <scenario>__imputed.csv: regmed's imputed data sets stacked (``imputation`` 1..m),
which make_reference.R analyses with MatchThem (R's random numbers differ from numpy's, so R
gets regmed's imputations, not its own).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from mi_scenarios import SCENARIOS, spec_of  # noqa: E402

from regmed.evaluate.comparison import compare  # noqa: E402


def make_patients(seed: int = 20261203, n: int = 360) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.4
    age = rng.normal(45, 12, n).round(0)
    sex = np.where(rng.random(n) < 0.45, "F", "M")
    severity = rng.normal(0, 1, n).round(3)
    lin = -0.8 + 0.9 * treated + 0.03 * (age - 45) - 0.5 * severity + 0.3 * (sex == "F")
    response = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(float)
    score = (20 + 6 * treated - 0.15 * (age - 45) - 3 * severity + rng.normal(0, 5, n)).round(2)
    frame = pd.DataFrame({
        "patient_id": [f"S{i % 4 + 1}:P{i:03d}" for i in range(n)],
        "cohort": np.where(treated, "treated", "concurrent_control"),
        "site_code": [f"S{i % 4 + 1}" for i in range(n)],
        "index_on": pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "age": age, "sex": sex, "severity": severity,
        "response": response, "response_status": "observed",
        "score": score, "score_status": "observed",
    })
    # missing at random: outcomes depend on the treatment and severity, covariates on age
    for col in ("response", "score"):
        gone = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 0.5 * treated + 0.6 * severity)))
        frame.loc[gone, col] = np.nan
        frame.loc[gone, f"{col}_status"] = np.where(rng.random(gone.sum()) < 0.7, "missing",
                                                    "out_of_window")
    frame.loc[rng.random(n) < 1 / (1 + np.exp(-(-2.2 + 0.03 * (age - 45)))), "severity"] = np.nan
    frame.loc[rng.random(n) < 0.08, "sex"] = None
    return frame.set_index("patient_id")


def main() -> None:
    patients = make_patients()
    patients.to_csv(HERE / "patients.csv")
    for name in SCENARIOS:
        spec = spec_of(name)
        comp = compare(patients, spec, rng=np.random.default_rng(7))
        comp.extra_data[f"{spec.label}__imputed"].to_csv(HERE / f"{name}__imputed.csv",
                                                          index=False)


if __name__ == "__main__":
    main()
