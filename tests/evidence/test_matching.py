"""match() against MatchIt 4.7.2 (tests/reference/evidence/matchit/make_matchsets.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.evidence import Matching, fit_propensity, match

REF = Path(__file__).parents[1] / "reference" / "evidence" / "matchit"
COVS = {
    "lalonde": ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    "sim": ["x1", "x2", "x3", "bin", "site"],
}
REFS = json.loads((REF / "matchsets.json").read_text())
CASES = [(ds, name) for ds in ("lalonde", "sim") for name in REFS[ds]]


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv").set_index("id")


def options(args: dict) -> dict:
    return {
        "ratio": args.get("ratio", 1),
        "caliper": args.get("caliper"),
        "caliper_scale": "logit" if args.get("link") == "linear.logit" else "ps",
        "replace": args.get("replace", False),
        "order": args.get("m.order", "largest"),
        "exact": [args["exact"]] if "exact" in args else None,
    }


def sets_of(m: Matching) -> dict:
    out = {}
    for tid, g in m.pairs.groupby("treated_id", sort=False):
        out[tid] = list(g.sort_values("rank")["control_id"])
    return out


def ref_sets(case: dict) -> dict:
    return {
        s["treated"]: s["controls"] if isinstance(s["controls"], list) else [s["controls"]]
        for s in case["sets"]
    }


@pytest.mark.parametrize(("ds", "name"), CASES)
def test_identical_matched_sets_weights_subclasses(ds: str, name: str) -> None:
    case = REFS[ds][name]
    df = load(ds)
    fit = fit_propensity(df, "treat", COVS[ds])
    dist = pd.Series([float(v) for v in case["distance"]], index=df.index)
    m = match(df, fit, **options(case["args"]), distance=dist)
    assert sets_of(m) == ref_sets(case)
    w = pd.Series(case["weights"])
    assert set(m.matched.index) == set(w.index)
    np.testing.assert_allclose(m.matched.loc[w.index, "weights"], w, rtol=1e-12)
    if case["subclass"] is None:
        assert m.matched["subclass"].isna().all()
        assert m.cluster is None
    else:
        sub = pd.Series(case["subclass"])
        assert m.matched.loc[sub.index, "subclass"].astype(int).tolist() == sub.tolist()
        assert m.cluster == "subclass"
    if case["caliper"] is None:
        assert m.caliper_width is None
    else:
        assert m.caliper_width == pytest.approx(case["caliper"], rel=1e-12)
    nn = case["nn"]
    assert m.n_matched_treated == nn["Treated"]["Matched"]
    assert m.n_matched_control == nn["Control"]["Matched"]
    assert m.ess_control == pytest.approx(nn["Control"]["Matched (ESS)"], rel=1e-10)
    unmatched = set(df.index[df["treat"] == 1]) - set(ref_sets(case))
    assert set(m.unmatched_treated) == unmatched


@pytest.mark.parametrize(("ds", "name"), CASES)
def test_full_pipeline_same_sets_up_to_float_ties(ds: str, name: str) -> None:
    """Our own glm fit gives MatchIt's sets; a difference may only be a last-bit tie."""
    case = REFS[ds][name]
    df = load(ds)
    fit = fit_propensity(df, "treat", COVS[ds])
    m = match(df, fit, **options(case["args"]))
    ours, theirs = sets_of(m), ref_sets(case)
    d = m.distance
    differing = [k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)]
    assert len(differing) <= 1
    for k in differing:
        a = sorted(abs(d[k] - d[c]) for c in ours[k])
        b = sorted(abs(d[k] - d[c]) for c in theirs[k])
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_shared_reference_smds_and_counts() -> None:
    ref = json.loads((REF / "expected.json").read_text())
    from regmed.evidence import balance

    df = load("lalonde")
    fit = fit_propensity(df, "treat", COVS["lalonde"])
    runs = {
        "nn_1to1": {"caliper_scale": "ps"},
        "nn_1to1_caliper02_logit": {"caliper": 0.2, "caliper_scale": "logit"},
        "nn_1to2_caliper01_ps": {"ratio": 2, "caliper": 0.1, "caliper_scale": "ps"},
    }
    for key, opts in runs.items():
        m = match(df, fit, **opts)
        assert m.n_matched_treated == ref[key]["n_treated"]
        assert m.n_matched_control == ref[key]["n_control"]
        smd = balance(m).smd_after
        for cov, value in ref[key]["smd_after"].items():
            assert smd[cov] == pytest.approx(value, abs=1e-6)


def test_attrition_and_caliper_drops() -> None:
    df = load("lalonde")
    fit = fit_propensity(df, "treat", COVS["lalonde"])
    m = match(df, fit, caliper=0.2)
    assert len(m.dropped_by_caliper) == 185 - 117
    assert set(m.dropped_by_caliper) == set(m.unmatched_treated)
    att = m.attrition.set_index("step")
    assert att.loc["input", "n_treated"] == 185
    assert att.loc["no control within caliper", "n_treated"] == 117
    assert att.loc["matched", "n_control"] == 117
    assert m.options["caliper"] == 0.2 and m.options["order"] == "largest"
    d = m.distance
    gaps = (d[m.pairs["treated_id"]].to_numpy() - d[m.pairs["control_id"]].to_numpy())
    assert np.all(np.abs(gaps) <= m.caliper_width)
    assert m.matched is m.data


def test_random_order_is_reproducible_and_valid() -> None:
    df = load("sim")
    fit = fit_propensity(df, "treat", COVS["sim"])
    a = match(df, fit, ratio=2, caliper=0.1, order="random", rng=7)
    b = match(df, fit, ratio=2, caliper=0.1, order="random", rng=np.random.default_rng(7))
    c = match(df, fit, ratio=2, caliper=0.1, order="random", rng=8)
    assert sets_of(a) == sets_of(b)
    assert sets_of(a) != sets_of(c)
    assert a.pairs["control_id"].is_unique


def test_input_errors_are_collected() -> None:
    df = load("sim")
    fit = fit_propensity(df, "treat", COVS["sim"])
    with pytest.raises(DataError) as err:
        match(df, fit, ratio=0, caliper=-1, order="best", caliper_scale="probit", exact=["nope"])
    fields = {p.field for p in err.value.problems}
    assert fields == {"ratio", "caliper", "order", "caliper_scale", "nope"}
    with pytest.raises(DataError, match="treatment"):
        match(df, fit.ps)


def _walk(d, treat, stratum, order, ratio, cal, replace):  # noqa: ANN001, ANN202
    """A literal port of MatchIt's nn_matchC_vec / find_control_vec walk (slow, for checks)."""
    from regmed.evidence._nearest import _partial_sort

    n = len(d)
    idx = np.argsort(d, kind="stable")
    pos = np.empty(n, dtype=int)
    pos[idx] = np.arange(n)
    eligible = stratum >= 0
    treated = np.flatnonzero(treat == 1)
    mm = np.full((len(treated), ratio), -1)
    calv = cal if cal is not None else d.max() - d.min() + 1

    def find(t: int, r: int, row: list, k: int) -> list:
        ii = pos[t]
        iil = iir = ii
        min_dist = 0.0
        if r > 1 and row:
            starts = [pos[c] for c in row] + [ii]
            iil, iir = min(starts), max(starts)
            if iil == ii:
                min_dist = abs(d[t] - d[idx[iir]])
            elif iir == ii:
                min_dist = abs(d[t] - d[idx[iil]])
            else:
                min_dist = max(abs(d[t] - d[idx[iil]]), abs(d[t] - d[idx[iir]]))
        pot: list = []
        cnt = {True: 0, False: 0}
        stop = {True: False, False: False}
        left = False
        while not (stop[True] and stop[False]):
            left = False if stop[True] else True if stop[False] else not left
            if left:
                if iil <= 0 or cnt[True] == k:
                    stop[True] = True
                    continue
                iil -= 1
                z = idx[iil]
            else:
                if iir >= n - 1 or cnt[False] == k:
                    stop[False] = True
                    continue
                iir += 1
                z = idx[iir]
            if not eligible[z] or treat[z] != 0 or z in row:
                continue
            dc = abs(d[t] - d[z])
            if dc > calv:
                stop[left] = True
                continue
            if dc < min_dist:
                continue
            if len(pot) >= k and sum(p[1] < dc for p in pot) >= k:
                stop[left] = True
                continue
            if stratum[z] != stratum[t]:
                continue
            pot.append((z, dc))
            cnt[left] += 1
            if cnt[left] == k:
                stop[left] = True
        dists = [p[1] for p in pot]
        if len(pot) <= 1 or (
            len(pot) <= k and all(dists[i] <= dists[i + 1] for i in range(len(pot) - 1))
        ):
            return [p[0] for p in pot]
        ind = list(range(len(pot)))
        if len(pot) > k:
            _partial_sort(ind, k, lambda a, b: dists[a] < dists[b])
            ind = ind[:k]
        else:
            ind.sort(key=lambda i: dists[i])
        return [pot[i][0] for i in ind]

    if replace:
        for ti in order:
            if eligible[treated[ti]]:
                got = find(treated[ti], 1, [], ratio)
                mm[ti, : len(got)] = got
        return mm
    t_ok = eligible[treated].copy()
    for r in range(1, ratio + 1):
        for ti in order:
            if not t_ok[ti]:
                continue
            got = find(treated[ti], r, [c for c in mm[ti] if c >= 0], 1)
            if not got:
                if r == 1:
                    t_ok[ti] = False
                continue
            mm[ti, r - 1] = got[0]
            eligible[got[0]] = False
            if r == ratio:
                t_ok[ti] = False
    return mm


@pytest.mark.parametrize("seed", range(40))
def test_fast_search_equals_matchit_walk_with_ties(seed: int) -> None:
    from regmed.evidence._nearest import nearest_neighbour

    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 80))
    d = rng.integers(0, 25, n) / 10.0  # many exact ties
    treat = (rng.random(n) < 0.35).astype(int)
    stratum = rng.integers(0, 2, n) if seed % 2 else np.zeros(n, dtype=int)
    if seed % 5 == 0:
        stratum[rng.random(n) < 0.2] = -1  # discarded rows
    ratio = int(rng.integers(1, 4))
    replace = bool(seed % 3 == 0)
    cal = None if seed % 4 == 0 else float(rng.uniform(0.05, 0.6))
    order = rng.permutation(int(treat.sum()))
    fast, _ = nearest_neighbour(d, treat, stratum, order, ratio, cal, replace)
    slow = _walk(d, treat, stratum, order, ratio, cal, replace)
    np.testing.assert_array_equal(fast, slow)


def test_results_serialize_and_summarize() -> None:
    from regmed.evidence import balance, weight

    df = load("lalonde")
    fit = fit_propensity(df, "treat", COVS["lalonde"])
    results = [fit, match(df, fit, caliper=0.2), match(df, fit, ratio=2, replace=True),
               weight(df, fit, "ATO")]
    results.append(balance(results[1]))
    for res in results:
        text = json.dumps(res.to_dict())
        assert type(res).__name__ in text
        assert res.summary()
    m = results[2]
    assert m.matched["subclass"].isna().all()
    assert m.pairs.groupby("treated_id").size().max() == 2


def test_exact_on_categorical_dtype_same_as_strings() -> None:
    case = REFS["sim"]["r2_exact_logit"]
    df = load("sim")
    cat = df.assign(site=df["site"].astype(pd.CategoricalDtype(["north", "south", "west", "x"])))
    dist = pd.Series([float(v) for v in case["distance"]], index=df.index)
    fit = fit_propensity(cat, "treat", COVS["sim"])
    m = match(cat, fit, ratio=2, exact=["site"], distance=dist)
    assert sets_of(m) == ref_sets(case)
