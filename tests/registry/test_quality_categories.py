"""Category specifications (sterility "negative", identity "conforms") through the registry."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError
from regmed.quality import check_specs

from .data import small_tables


def _with_sterility(results: list[tuple[str, str | None, str | None]]) -> dict:
    tables = small_tables()
    qa = tables["quality_attributes"]
    extra = pd.DataFrame([{"product_code": "MSC1", "attribute_code": "sterility",
                           "name": "Sterility", "unit": "-", "method": "culture",
                           "lower_spec": "", "upper_spec": "", "spec_category": "negative"}])
    tables["quality_attributes"] = pd.concat([qa.assign(spec_category=""), extra],
                                             ignore_index=True)
    lr = tables["lot_results"].assign(value_text="")
    rows = pd.DataFrame([{"lot_code": lot, "attribute_code": "sterility", "value": value or "",
                          "value_text": text or "", "unit": "-", "measured_on": "2020-01-15"}
                         for lot, value, text in results])
    tables["lot_results"] = pd.concat([lr, rows], ignore_index=True)
    return tables


def test_category_results_are_stored_and_checked(session: Session) -> None:
    reg.import_tables(session, _with_sterility([("L1", None, "negative"),
                                                ("L2", None, "Positive")]), actor="tester")
    frames = reg.export_frames(session)
    attrs, results = frames["quality_attributes"], frames["lot_results"]
    assert attrs.set_index("attribute_code").at["sterility", "spec_category"] == "negative"
    ster = results[results["attribute_code"] == "sterility"].set_index("lot_code")
    assert ster.at["L2", "value_text"] == "Positive" and pd.isna(ster.at["L2", "value"])
    spec = check_specs(results, attrs)
    failed = spec.lots.set_index("lot")["failed"]
    assert "sterility" in failed["L2"] and "sterility" not in failed["L1"]


def test_category_result_needs_text_and_numeric_needs_value(session: Session) -> None:
    tables = _with_sterility([("L1", "1", None)])
    lr = tables["lot_results"]
    lr.loc[(lr["lot_code"] == "L2") & (lr["attribute_code"] == "viability"),
           ["value", "value_text"]] = ["", "high"]
    with pytest.raises(DataError) as err:
        reg.import_tables(session, tables, actor="tester")
    fields = {(p.file, p.field) for p in err.value.problems}
    assert {("lot_results.csv", "value_text"), ("lot_results.csv", "value")} <= fields
    assert reg.export_frames(session)["lot_results"].empty
