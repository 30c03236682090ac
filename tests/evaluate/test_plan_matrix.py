"""The plan-variant test matrix (issue 13): each adjustment method × estimand × confidence
level × missing-data rule, run by ``regmed evaluate`` (``regmed.app.run_evaluation``) on a
seeded demo registry, stores the plan's spec and R's estimate, SE and interval.

The references: ``tests/reference/evaluate/methods/make_reference.R`` (MatchIt 4.7.2
``method = "exact"`` / ``"subclass"``, ``lm`` + ``sandwich::vcovHC(type = "HC0")``,
``coxph(robust = TRUE)``, g-computation with the HC0 delta method as
``marginaleffects::avg_comparisons``) on the analysis data sets the engine exported
(``*.csv`` beside the script, the rows before adjustment). Regenerate with
``REGMED_WRITE_REFERENCE=1 pytest tests/evaluate/test_plan_matrix.py`` and then the R script.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import plan_variants as pv
import pytest

from regmed import demo, registry
from regmed.app import run_evaluation

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate" / "methods"
WRITE = os.environ.get("REGMED_WRITE_REFERENCE") == "1"
TOL = 1e-6
#: the largest difference seen against R, per method (checked to stay below TOL)
_SEEN: dict[str, float] = {}


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The seeded sci and heart-failure demo registries (SQLite), built once."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("REGMED_DATABASE_URL", raising=False)
        mp.setenv("REGMED_PSEUDONYM_KEY", "0" * 64)
        mp.setenv("REGMED_AUDIT_KEY", "audit-test-key-0123456789")  # as tests/conftest.py
        mp.delenv("REGMED_AUDIT_KEY_FILE", raising=False)
        root = tmp_path_factory.mktemp("matrix")
        for reg in (pv.SCI, pv.HEART):
            url = f"sqlite:///{root / (reg['scenario'] + '.sqlite')}"
            engine = registry.make_engine(url)
            registry.upgrade(engine)
            data = demo.generate(reg["scenario"], seed=reg["seed"], **reg["params"])
            with registry.session_scope(engine) as session:
                registry.import_tables(session, data.tables, actor="test", reason="test data",
                                       key=registry.load_key(url))
            engine.dispose()
            out[reg["scenario"]] = {"url": url, "plan": data.plan_yaml, "root": root}
        yield out


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    if WRITE:
        return {}
    return json.loads((REF / "expected.json").read_text(encoding="utf-8"))


def _input_name(scenario: str, missing: str, endpoint: str) -> str:
    return f"{scenario}__{missing}__{endpoint}.csv"


def _raw(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns R reads (before adjustment): no ps, weight or subclass."""
    return frame.drop(columns=[c for c in ("ps", "weight", "subclass") if c in frame])


def _write_input(frame: pd.DataFrame, spec: dict[str, Any], scenario: str, missing: str,
                 plan_covariates: list[str]) -> None:
    REF.mkdir(parents=True, exist_ok=True)
    name = _input_name(scenario, missing, spec["endpoint"])
    _raw(frame).to_csv(REF / name, index=False, float_format="%.17g")
    manifest_path = REF / "inputs.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {"scenario": scenario, "missing": missing, "endpoint": spec["endpoint"],
                      "kind": spec["endpoint_kind"], "covariates": plan_covariates,
                      "exact_covariates": pv.EXACT[scenario], "subclasses": pv.SUBCLASSES,
                      "levels": list(pv.LEVELS), "estimands": list(pv.ESTIMANDS)}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _close(method: str, got: float | None, want: float | None, what: str) -> None:
    assert got is not None and want is not None, what
    diff = abs(got - want)
    _SEEN[method] = max(_SEEN.get(method, 0.0), diff)
    assert diff <= TOL * max(1.0, abs(want)), f"{what}: {got} vs R {want}"


@pytest.mark.parametrize("variant", pv.variants(),
                         ids=lambda v: f"{v[0]}-{v[1]}-{v[2]}-L{round(100 * v[3])}-{v[4]}")
def test_variant_runs_as_the_plan_says_and_as_r(registries, reference, tmp_path: Path,
                                                variant: tuple) -> None:
    scenario, method, estimand, level, missing = variant
    reg = registries[scenario]
    text = pv.variant_text(scenario, reg["plan"], method, estimand, level, missing)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGMED_PSEUDONYM_KEY", "0" * 64)
        doc, files = run_evaluation(plan=str(plan_file), version=None, exploratory=True,
                                    out=out, pdf=False, url=reg["url"])
    assert files["html"].exists()
    from regmed.plan import load_plan

    plan = load_plan(text)
    adj = plan.controls[0].adjustment
    assert adj is not None
    endpoints = [e for e in plan.endpoints if e.role != "exploratory"]
    assert [a["endpoint"] for a in doc["analyses"]] == [e.id for e in endpoints]
    for a, endpoint in zip(doc["analyses"], endpoints, strict=True):
        spec = a["spec"]
        # the stored spec is the plan as written
        assert spec["method"] == adj.method == method
        assert spec["estimand"] == adj.estimand == estimand
        assert spec["covariates"] == adj.covariates
        assert spec["confidence_level"] == level == a["effect"]["ci_level"]
        assert spec["missing_data"] == (missing if endpoint.role == "primary"
                                        else "complete_case")
        assert spec["caliper"] is None and spec["ratio"] == 1
        assert spec["n_subclasses"] == (pv.SUBCLASSES if method == "propensity_stratification"
                                        else None)
        assert spec["control_source"] == "concurrent"
        frame = pd.read_csv(out / a["analysis_data"])
        assert list(frame.columns[2:2 + len(adj.covariates)]) == adj.covariates
        assert ("subclass" in frame) == (method in ("exact_matching",
                                                    "propensity_stratification"))
        assert ("ps" in frame) == (method in ("propensity_stratification",
                                              "propensity_covariate"))
        name = _input_name(scenario, spec["missing_data"], a["endpoint"])
        if WRITE:
            if method == "covariate_adjustment" or (
                    method == "propensity_stratification" and a["kind"] == "survival"):
                covs = plan.controls[0].adjustment.covariates  # the PS model's covariates
                _write_input(frame, spec, scenario, spec["missing_data"], covs)
            continue
        # the data R read are the engine's analysis data set (all rows, or the matched ones)
        stored = pd.read_csv(REF / name)
        raw = _raw(frame).set_index("pseudonym")
        base = stored.set_index("pseudonym")
        if method == "exact_matching":
            assert set(raw.index) <= set(base.index)
        else:
            assert set(raw.index) == set(base.index)
        pd.testing.assert_frame_equal(raw, base.loc[raw.index, raw.columns], check_dtype=False,
                                      atol=1e-12)
        want = reference["results"][f"{name}|{method}|{estimand}|{level:.2f}"]
        eff = a["effect"]
        label = f"{pv.key(*variant)} {a['endpoint']}"
        assert a["n_treated"] == want["n_treated"] and a["n_control"] == want["n_control"]
        for k in ("estimate", "std_error", "ci_lower", "ci_upper"):
            _close(method, eff[k], want[k], f"{label} {k}")
        units = reference["units"]
        ids = units[name]["pseudonym"]
        by_unit = units.get(f"{name}|{method}|{estimand}")
        if by_unit is not None:  # exact matching and stratification: same units, weights, sets
            r = pd.Series(by_unit["weights"], index=ids)
            got = frame.set_index("pseudonym")["weight"]
            assert set(got.index) == set(r.index[r > 0])
            for pid, w in got.items():
                _close(method, float(w), float(r[pid]), f"{label} weight {pid}")
            rs = pd.Series(by_unit["subclass"], index=ids)
            gs = frame.set_index("pseudonym")["subclass"]
            assert (gs == rs.loc[gs.index].astype(int)).all(), f"{label} subclasses"
        if "ps" in frame:
            r = pd.Series(units[name]["ps"], index=ids)
            for pid, v in frame.set_index("pseudonym")["ps"].items():
                _close(method, float(v), float(r[pid]), f"{label} ps {pid}")


def test_largest_differences_are_reported() -> None:
    """Runs last in this module: prints the largest difference against R per method."""
    if WRITE or not _SEEN:
        pytest.skip("no comparison ran")
    print({m: f"{d:.2e}" for m, d in sorted(_SEEN.items())})
    assert max(_SEEN.values()) <= TOL
