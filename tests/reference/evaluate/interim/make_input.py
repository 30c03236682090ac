"""Stage-wise data of the group-sequential references (issue 13).

Run from the repository root with the project's Python:
    PYTHONPATH=src python tests/reference/evaluate/interim/make_input.py
Evaluates each scenario's looks with regmed (``regmed.evaluate.interim``) and writes
stage_data.json: per scenario the design and, per look, the cumulative statistic and
information exactly as given to rpact (``overallLogRanks``, ``overallEvents``,
``overallAllocationRatios``), for
make_reference.R.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from interim_scenarios import SCENARIOS, scenario  # noqa: E402

from regmed.evaluate.comparison import _analysis_frame, compare  # noqa: E402
from regmed.evaluate.interim import run_sequential  # noqa: E402


def stage_inputs(name: str) -> dict:
    patients, spec, stage = scenario(name)
    comp = run_sequential(patients, spec, stage=stage, compare=compare,
                          frame_of=_analysis_frame, rng=np.random.default_rng(3))
    block = comp.entry["interim"]
    it = spec.interim
    assert it is not None
    return {"information_rates": list(it.information_rates), "type_of_design": it.spending,
            "alpha": it.alpha, "beta": it.beta, "sided": it.sided,
            "type_beta_spending": f"bs{it.futility}" if it.futility else "none",
            "direction_upper": block["stage_data"]["direction_upper"],
            "overall_events": block["stage_data"]["overall_events"],
            "overall_log_ranks": block["stage_data"]["overall_log_rank"],
            "overall_allocation_ratios": block["stage_data"]["overall_allocation_ratio"],
            "measure": spec.measure.value, "theta_h0": block["theta_h0"]}


def main() -> None:
    out = {name: stage_inputs(name) for name in SCENARIOS}
    (HERE / "stage_data.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
