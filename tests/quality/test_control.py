"""control_chart against the I-MR formulas and run rules computed by hand in R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import control_chart

from ._ref import REF, load

EXPECTED = load("hand_formulas.json")["chart"]
VALUES = pd.read_csv(REF / "chart_values.csv")["value"].to_numpy()


def _as_list(v: object) -> list[int]:
    return [v] if isinstance(v, int) else list(v)  # type: ignore[arg-type]


def test_limits_match_hand_formulas() -> None:
    ch = control_chart(VALUES)
    for key in ("center", "mr_bar", "sigma", "lcl", "ucl", "mr_ucl"):
        assert getattr(ch, key) == pytest.approx(EXPECTED[key], rel=1e-12)
    assert ch.ucl - ch.center == pytest.approx(2.66 * ch.mr_bar, rel=1e-3)


@pytest.mark.parametrize("rule", ["rule1", "rule2", "rule3", "rule4", "trend"])
def test_rules_match_hand_implementation(rule: str) -> None:
    ch = control_chart(VALUES)
    fired = ch.points.loc[ch.points[rule], "order"].tolist()
    assert fired == _as_list(EXPECTED[rule])


def test_dates_order_the_points() -> None:
    dates = pd.date_range("2025-01-01", periods=len(VALUES), freq="D")[::-1]
    ch = control_chart(VALUES, dates)
    assert np.allclose(ch.points["value"], VALUES[::-1])
    assert ch.center == pytest.approx(EXPECTED["center"])


def test_textbook_patterns() -> None:
    base = [10.0, 10.5, 9.5] * 6
    assert control_chart([*base, 20.0]).points["rule1"].iloc[-1]
    shifted = control_chart([*base, *([10.4] * 8)])
    assert shifted.points["rule4"].iloc[-1] and not shifted.points["rule4"].iloc[-2]
    trend = control_chart([*base, 10.5, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6])
    assert trend.points["trend"].iloc[-1] and not trend.points["trend"].iloc[-2]
    with pytest.raises(DataError):
        control_chart([1.0])
    with pytest.raises(DataError, match="Unknown rules"):
        control_chart([1.0, 2.0], rules=["rule9"])
