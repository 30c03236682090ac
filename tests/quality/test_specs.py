"""check_specs: OOS flags, release status and administrations of OOS lots."""

from __future__ import annotations

import pandas as pd
import pytest

from regmed.errors import DataError
from regmed.quality import check_specs

ATTRS = pd.DataFrame({"product_code": "P", "attribute_code": ["via", "cd73", "endo"],
                      "unit": ["%", "%", "EU/mL"], "lower_spec": [70.0, 90.0, None],
                      "upper_spec": [None, 100.0, 0.5]})
RESULTS = pd.DataFrame({
    "lot_code": ["L1", "L1", "L1", "L2", "L2", "L2", "L3", "L3", "L3"],
    "attribute_code": ["via", "cd73", "endo"] * 3,
    "value": [85.0, 95.0, 0.1, 69.9, 95.0, 0.5, 70.0, 89.0, 0.7],
    "unit": ["%", "%", "EU/mL"] * 3,
})


def test_flags_values_outside_inclusive_limits() -> None:
    res = check_specs(RESULTS, ATTRS)
    assert res.oos_lots == ["L2", "L3"]
    lots = res.lots.set_index("lot")
    assert lots.at["L2", "failed"] == "via"  # 69.9 < 70; endo 0.5 is on the limit (inside)
    assert lots.at["L3", "failed"] == "cd73,endo"  # via 70.0 is on the limit
    assert lots.at["L3", "n_oos"] == 2
    assert list(res.results.columns) == ["lot", "attribute", "value", "value_text", "lower",
                                         "upper", "category", "unit", "oos"]
    assert int(res.results["oos"].sum()) == 3


def test_status_and_administrations() -> None:
    lots = pd.DataFrame({"lot_code": ["L1", "L2", "L3"],
                         "status": ["released", "released_oos", "released"]})
    adm = pd.DataFrame({"site_code": ["S1", "S1", "S2"], "patient_ref": ["a", "b", "c"],
                        "lot_code": ["L1", "L2", "L3"],
                        "oos_request_documented": [None, True, None]})
    res = check_specs(RESULTS, ATTRS, lots=lots, administrations=adm)
    flags = res.lots.set_index("lot")["status_consistent"]
    assert flags.to_dict() == {"L1": True, "L2": True, "L3": False}
    exp = res.exposures.set_index("patient_ref")
    assert list(exp.index) == ["b", "c"]
    assert not exp.at["b", "flagged"] and exp.at["c", "flagged"]
    assert any("without a documented" in w for w in res.warnings)
    assert res.to_dict()["oos_lots"] == ["L2", "L3"]


def test_all_problems_reported_together() -> None:
    bad = RESULTS.copy()
    bad.loc[0, "unit"] = "fraction"
    bad.loc[4, "attribute_code"] = "potency"
    with pytest.raises(DataError) as err:
        check_specs(bad, ATTRS)
    assert len(err.value.problems) == 2
    assert {p.row for p in err.value.problems} == {1, 5}


CAT_ATTRS = pd.DataFrame({"attribute_code": ["via", "sterility", "identity"],
                          "unit": ["%", "-", "-"], "lower_spec": [70.0, None, None],
                          "spec_category": [None, "negative", "conforms|conforms (STR)"]})


def test_category_specifications_flag_other_categories() -> None:
    res = pd.DataFrame({
        "lot_code": ["L1"] * 3 + ["L2"] * 3 + ["L3"] * 3,
        "attribute_code": ["via", "sterility", "identity"] * 3,
        "value": [85.0, None, None, 80.0, None, None, 75.0, None, None],
        "value_text": [None, "Negative ", "conforms", None, "positive", "conforms (STR)",
                       None, "negative", "does not conform"],
        "unit": ["%", "-", "-"] * 3,
    })
    out = check_specs(res, CAT_ATTRS)
    assert out.oos_lots == ["L2", "L3"]
    lots = out.lots.set_index("lot")
    assert lots.at["L2", "failed"] == "sterility"
    assert lots.at["L3", "failed"] == "identity"
    row = out.results[(out.results["lot"] == "L1") & (out.results["attribute"] == "sterility")]
    assert row["category"].iloc[0] == "negative" and not row["oos"].iloc[0]


def test_category_result_without_text_and_numeric_without_value_are_reported() -> None:
    res = pd.DataFrame({"lot_code": ["L1", "L1"], "attribute_code": ["via", "sterility"],
                        "value": [None, 1.0], "value_text": ["high", None],
                        "unit": ["%", "-"]})
    with pytest.raises(DataError) as err:
        check_specs(res, CAT_ATTRS)
    fields = sorted((p.row, p.field) for p in err.value.problems)
    assert fields == [(1, "value"), (2, "value_text")]
