"""Chain of identity and custody of administered lots, through `regmed import` and import_tables.

The small registry (``data.small_tables``): an autologous product, patients S01/P001 (donor D1)
and S01/P002 (donor D2), lots L1 (D1) and L2 (D2) shipped to S01 and received 2020-01-22,
given 2020-01-25.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError

from .data import small_tables
from .test_cli import run


def _refused(session: Session, t: dict[str, pd.DataFrame]) -> list[tuple[str | None, int | None,
                                                                         str | None, str]]:
    with pytest.raises(DataError) as err:
        reg.import_tables(session, t, actor="tester")
    assert session.scalar(select(func.count()).select_from(reg.Administration)) == 0
    return [(p.file, p.row, p.field, p.message) for p in err.value.problems]


def test_the_small_registry_keeps_the_chain(session: Session) -> None:
    reg.import_tables(session, small_tables(), actor="tester")
    assert session.scalar(select(func.count()).select_from(reg.Administration)) == 2


def test_another_patients_autologous_lot_is_refused(session: Session) -> None:
    t = small_tables()
    t["administrations"]["lot_code"] = ["L2", "L1"]  # the two patients' lots swapped
    found = _refused(session, t)
    assert [(f, r, c) for f, r, c, _ in found] == [
        ("administrations.csv", 1, "lot_code"), ("administrations.csv", 2, "lot_code")]
    assert "comes from another donor than the patient" in found[0][3]


def test_a_patient_without_a_recorded_donor_gets_no_autologous_lot(session: Session) -> None:
    t = small_tables()
    t["patients"].loc[0, "donor_code"] = ""
    (problem,) = _refused(session, t)
    assert problem[:3] == ("administrations.csv", 1, "lot_code")
    assert "own donor is not recorded" in problem[3]


def test_a_lot_not_received_at_the_patients_site_is_refused(session: Session) -> None:
    t = small_tables()
    t["shipments"].loc[0, "site_code"] = "S02"  # L1 went to the other site
    t["shipments"].loc[1, "received_on"] = "2020-01-26"  # L2 arrived after it was given
    found = _refused(session, t)
    assert [(f, r, c) for f, r, c, _ in found] == [
        ("administrations.csv", 1, "lot_code"), ("administrations.csv", 2, "administered_on")]
    assert "was not shipped to the patient's site 'S01'" in found[0][3]
    assert "received at 'S01' on 2020-01-26, after it was given" in found[1][3]


def test_a_lot_without_any_shipment_is_refused_when_stored_first(session: Session) -> None:
    t = small_tables()
    masters = {k: v for k, v in t.items() if k not in ("shipments", "administrations")}
    reg.import_tables(session, masters, actor="tester")
    found = _refused(session, {"administrations": t["administrations"]})
    assert [c for _, _, c, _ in found] == ["lot_code", "lot_code"]
    assert all("was not shipped" in m for *_, m in found)
    # the shipments arrive: the same administrations are accepted
    reg.import_tables(session, {"shipments": t["shipments"]}, actor="tester")
    reg.import_tables(session, {"administrations": t["administrations"]}, actor="tester")


def test_receipt_outside_the_products_limits_needs_a_documented_deviation(
    session: Session,
) -> None:
    t = small_tables()
    t["products"]["receipt_min_temp_c"] = "2"
    t["products"]["receipt_max_temp_c"] = "8"
    t["products"]["max_time_out_of_storage_min"] = "60"
    t["shipments"].loc[0, "receipt_temperature_c"] = "11.5"
    t["shipments"].loc[1, "time_out_of_storage_min"] = ""
    found = _refused(session, t)
    assert [(r, c) for _, r, c, _ in found] == [(1, "lot_code"), (2, "lot_code")]
    assert "received at 11.5 °C, outside the product's limits (2–8 °C)" in found[0][3]
    assert "the time out of storage is not recorded" in found[1][3]
    t["shipments"]["deviation_reference"] = ["DEV-2020-001", "DEV-2020-002"]
    reg.import_tables(session, t, actor="tester")
    assert session.scalar(select(func.count()).select_from(reg.Administration)) == 2


def test_release_and_the_documented_oos_request(session: Session) -> None:
    t = small_tables()
    t["lots"]["status"] = ["quarantined", "released_oos"]
    t["lots"].loc[1, "released_on"] = "2020-01-28"
    found = _refused(session, t)
    assert [(r, c) for _, r, c, _ in found] == [
        (1, "lot_code"), (2, "administered_on"), (2, "oos_request_documented")]
    assert "is not released (status 'quarantined')" in found[0][3]
    assert "was released on 2020-01-28, after it was given" in found[1][3]


def test_a_lot_of_another_product_is_refused(session: Session) -> None:
    t = small_tables()
    t["products"] = pd.concat([t["products"], pd.DataFrame([{
        "product_code": "MSC2", "name": "Allogeneic MSC", "type": "allogeneic",
        "approval_kind": "full"}])], ignore_index=True)
    t["lots"].loc[1, "product_code"] = "MSC2"
    t["lot_results"] = t["lot_results"][t["lot_results"]["lot_code"] == "L1"]
    (problem,) = _refused(session, t)
    assert problem[:3] == ("administrations.csv", 2, "lot_code")
    assert "is of product 'MSC2', not of the product of the patient's indication" in problem[3]


def test_regmed_import_names_file_row_and_field(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "wrong_lot"
    folder.mkdir()
    t = small_tables()
    t["administrations"].loc[0, "lot_code"] = "L2"  # P001 is given P002's lot
    t["administrations"] = t["administrations"].iloc[:1]
    for name, frame in t.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    monkeypatch.setenv("REGMED_DATABASE_URL", fresh_url)
    code, out, err = run(["import", str(folder), "--actor", "site"], capsys)
    assert code != 0 and "Traceback" not in err
    assert "administrations.csv, row 1, lot_code" in err
    assert "comes from another donor than the patient" in err
    engine = reg.make_engine(fresh_url)
    with reg.session_scope(engine) as s:  # nothing was written
        assert s.scalar(select(func.count()).select_from(reg.Lot)) == 0
    engine.dispose()


def test_a_control_patient_gets_no_lot(session: Session) -> None:
    t = small_tables()
    t["enrollments"].loc[1, "cohort"] = "external_control"  # S01/P002, given L2
    (problem,) = _refused(session, t)
    assert problem[:3] == ("administrations.csv", 2, "lot_code")
    assert "cannot be given to a patient enrolled in the external_control cohort" in problem[3]
    # a control patient stored first is refused the same way
    t = small_tables()
    t["enrollments"].loc[1, "cohort"] = "concurrent_control"
    t["administrations"] = t["administrations"].iloc[:1]
    reg.import_tables(session, t, actor="tester")
    more = small_tables()["administrations"].iloc[1:]
    with pytest.raises(DataError) as err:
        reg.import_tables(session, {"administrations": more}, actor="tester")
    (p,) = err.value.problems
    assert (p.file, p.row, p.field) == ("administrations.csv", 1, "lot_code")
    assert "concurrent_control cohort" in p.message


def _stored_broken(session: Session, t: dict[str, pd.DataFrame]) -> list[tuple[Any, ...]]:
    """Problems of an import that changes the facts of the stored administrations."""
    with pytest.raises(DataError) as err:
        reg.import_tables(session, t, actor="site", reason="corrected")
    return [(p.file, p.row, p.message) for p in err.value.problems]


def test_changes_that_break_stored_administrations_are_refused(session: Session) -> None:
    """P001 was given L1 and P002 L2 (both received at S01 on 2020-01-22, given 2020-01-25)."""
    reg.import_tables(session, small_tables(), actor="tester")
    base = small_tables()
    enr = base["enrollments"].iloc[:2].copy()
    enr["cohort"] = ["historical_control", "treated"]
    (found,) = _stored_broken(session, {"enrollments": enr})
    assert found[:2] == ("enrollments.csv", 1)
    assert "breaks the stored administration of lot 'L1' (given 2020-01-25) to patient " in \
        found[2] and "enrolled in the historical_control cohort" in found[2]
    ships = base["shipments"].copy()
    ships.loc[0, "site_code"] = "S02"  # L1 was never at S01
    ships.loc[1, "received_on"] = "2020-01-27"  # L2 arrived after it was given
    found = _stored_broken(session, {"shipments": ships})
    assert [(f, r) for f, r, _ in found] == [("shipments.csv", 1), ("shipments.csv", 2)]
    assert "was not shipped to the patient's site 'S01'" in found[0][2]
    assert "received at 'S01' on 2020-01-27, after it was given" in found[1][2]
    pts = base["patients"].iloc[:2].copy()
    pts["donor_code"] = ["D2", "D2"]  # P001 would be D2's: L1 is D1's
    lots = base["lots"].copy()
    lots.loc[1, "status"] = "quarantined"  # L2's release withdrawn
    found = _stored_broken(session, {"patients": pts, "lots": lots})
    assert [(f, r) for f, r, _ in found] == [("lots.csv", 2), ("patients.csv", 1)]
    assert "is not released (status 'quarantined')" in found[0][2]
    assert "comes from another donor than the patient" in found[1][2]
    # unchanged rows, and changes that keep the chain, are accepted
    ships.loc[0, "site_code"], ships.loc[1, "received_on"] = "S01", "2020-01-24"
    reg.import_tables(session, {"shipments": ships, "enrollments": base["enrollments"]},
                      actor="site", reason="corrected")
    assert session.scalar(select(func.count()).select_from(reg.Enrollment).where(
        reg.Enrollment.cohort == "treated")) == 2


def test_the_record_services_keep_the_chain(session: Session) -> None:
    """``add_record`` and ``update_record`` (the service layer) apply the same rule."""
    t = small_tables()
    t["administrations"] = t["administrations"].iloc[:1]  # P001 was given L1; P002 nothing
    reg.import_tables(session, t, actor="tester")
    lots = {lot.lot_code: lot.id for lot in session.scalars(select(reg.Lot))}
    p002 = session.scalar(select(reg.Patient.id).join(
        reg.Donor, reg.Donor.id == reg.Patient.donor_id).where(reg.Donor.donor_code == "D2"))
    adm = reg.Administration(patient_id=p002, lot_id=lots["L1"],
                             administered_on=dt.date(2020, 1, 25), dose=1.0,
                             dose_unit="cells", route="intravenous")
    with pytest.raises(DataError) as err:
        reg.add_record(adm, session=session, actor="svc")
    (p,) = err.value.problems
    assert p.field == "lot_code" and "comes from another donor than the patient" in p.message
    adm.lot_id = lots["L2"]
    reg.add_record(adm, session=session, actor="svc")  # P002's own lot: accepted
    with pytest.raises(DataError) as err:
        reg.update_record(adm, {"lot_id": lots["L1"]}, session=session, actor="svc",
                          reason="typo")
    assert "comes from another donor" in err.value.problems[0].message
    session.refresh(adm)
    assert adm.lot_id == lots["L2"]
    assert reg.verify_audit(session).ok
