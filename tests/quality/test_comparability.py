"""compare_lots (Welch TOST, quality ranges, tolerance intervals) against R by hand."""

from __future__ import annotations

import warnings as _w

import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import compare_lots, howe_k, simulate_process_change, tolerance_interval

from ._ref import REF, load

EXPECTED = load("hand_formulas.json")
REFERENCE = pd.read_csv(REF / "cmp_reference.csv")
CANDIDATE = pd.read_csv(REF / "cmp_candidate.csv")
ATTRS = ["a01", "a02", "a03", "a04"]


def test_tost_matches_welch_by_hand() -> None:
    res = compare_lots(REFERENCE, CANDIDATE, ATTRS)
    got = res.estimates.set_index("attribute")
    for row in EXPECTED["tost"]:
        g = got.loc[row["attribute"]]
        for col in ("difference", "ci_lower", "ci_upper", "margin", "df", "std_error",
                    "p_tost", "range_lower", "range_upper", "share_in_range", "ti_lower",
                    "ti_upper"):
            assert g[col] == pytest.approx(row[col], rel=1e-9), (row["attribute"], col)
        assert bool(g["equivalent"]) is row["equivalent"]
    assert set(res.overall["not_equivalent"].iloc[0].split(",")) == {
        r["attribute"] for r in EXPECTED["tost"] if not r["equivalent"]}
    assert res.comparable is False


def test_margins_override_and_unknown_margins_refused() -> None:
    res = compare_lots(REFERENCE, CANDIDATE, ATTRS, margins={"a04": 1000.0})
    assert res.estimates.set_index("attribute").at["a04", "equivalent"]
    with pytest.raises(DataError, match="unknown attributes"):
        compare_lots(REFERENCE, CANDIDATE, ATTRS, margins={"zz": 1.0})


def test_quality_range_share() -> None:
    res = compare_lots(REFERENCE, CANDIDATE, ATTRS, method="quality_range")
    got = res.estimates.set_index("attribute")
    for row in EXPECTED["tost"]:
        assert bool(got.at[row["attribute"], "equivalent"]) is (row["share_in_range"] >= 0.9)


@pytest.mark.parametrize("i", range(4))
def test_howe_factor(i: int) -> None:
    row = EXPECTED["howe"][i]
    assert howe_k(row["n"]) == pytest.approx(row["k_99_95"], rel=1e-10)
    assert howe_k(row["n"], 0.90, 0.95) == pytest.approx(row["k_90_95"], rel=1e-10)
    assert howe_k(row["n"], 0.95, 0.99) == pytest.approx(row["k_95_99"], rel=1e-10)


def test_howe_factor_published_table() -> None:
    # Howe's approximation lies close above the exact two-sided factor for n = 10, 99% / 95%
    # (4.433 in the exact tables, e.g. Krishnamoorthy & Mathew 2009, Statistical Tolerance
    # Regions, Wiley)
    assert 4.433 < howe_k(10, 0.99, 0.95) < 4.433 * 1.005
    ti = tolerance_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert ti.lower == pytest.approx(5.5 - ti.k_factor * 3.0276503540974917)


def test_too_few_reference_lots_warn() -> None:
    small = REFERENCE.head(2)
    res = compare_lots(small, CANDIDATE, ATTRS)
    assert any("TOST needs at least 3" in w for w in res.warnings)
    res = compare_lots(REFERENCE.head(6), CANDIDATE, ATTRS, method="quality_range")
    assert any("at least 10" in w for w in res.warnings)
    assert not compare_lots(REFERENCE, CANDIDATE, ATTRS).warnings


def test_planted_two_sd_shift_flagged_on_that_attribute_only() -> None:
    attrs = [f"a{i:02d}" for i in range(1, 13)]
    for seed in range(5):
        ref, cand = simulate_process_change(shift={"a07": 2.0}, rng=seed)
        res = compare_lots(ref, cand, attrs)
        failed = res.estimates.loc[~res.estimates["equivalent"], "attribute"].tolist()
        assert failed == ["a07"], seed
        with _w.catch_warnings():
            _w.simplefilter("error")
            assert res.to_dict()["overall"][0]["comparable"] is False
    ref, cand = simulate_process_change(rng=99)
    assert compare_lots(ref, cand, attrs).comparable
