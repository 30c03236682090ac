"""Identifiers are NFKC-normalized on every path; patient_ref is case-insensitive (p001 is
P001); other codes keep their case and a near-duplicate differing only in case is refused."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.errors import DataError

from .conftest import TEST_KEY, table_counts
from .data import small_tables

KEY = TEST_KEY.encode()


@pytest.fixture
def registry(session: Session) -> Session:
    reg.import_tables(session, small_tables(), actor="dm", key=KEY)
    return session


def _patients(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(reg.Patient)).scalar_one())


@pytest.mark.parametrize("ref", ["Ｐ００１", "p001", "ｐ００１", " P001 "])
def test_full_width_or_lower_case_patient_refs_name_the_same_patient(
        registry: Session, ref: str) -> None:
    counts = table_counts(registry)
    s = reg.import_tables(registry, {
        "patients": pd.DataFrame([{"site_code": "Ｓ０１", "patient_ref": ref, "sex": "M",
                                   "birth_year": "1970", "donor_code": "D1"}]),
        "baseline": pd.DataFrame([{"site_code": "S01", "patient_ref": ref,
                                   "variable": "ais_grade", "value_text": "A"}])},
        actor="dm", key=KEY)
    assert (s.inserted["patients"], s.unchanged["patients"]) == (0, 1)
    assert (s.inserted["baseline"], s.unchanged["baseline"]) == (0, 1)
    assert table_counts(registry) == counts
    assert reg.pseudonymize(KEY, "S01", ref) == reg.pseudonymize(KEY, "S01", "P001")


def test_a_code_differing_only_in_case_is_refused_as_a_near_duplicate(
        registry: Session) -> None:
    lots = small_tables()["lots"]
    full_width = lots.iloc[[0]].assign(lot_code="Ｌ１")  # is L1: unchanged
    assert reg.import_tables(registry, {"lots": full_width}, actor="dm").unchanged["lots"] == 1
    counts = table_counts(registry)
    near = pd.concat([lots.iloc[[0]].assign(lot_code="l1"), lots.iloc[[1]].assign(
        lot_code="L7"), lots.iloc[[1]].assign(lot_code="l7")], ignore_index=True)
    with pytest.raises(DataError) as err:
        reg.import_tables(registry, {"lots": near}, actor="dm")
    found = {(p.row, p.field, p.message) for p in err.value.problems}
    assert (1, "lot_code", "differs from 'L1' only in letter case (a near-duplicate; codes are "
            "case-sensitive): use 'L1'") in found
    assert any(row == 3 and "'L7'" in msg for row, _, msg in found)
    assert table_counts(registry) == counts


def test_the_single_row_path_and_the_services_normalize_alike(registry: Session) -> None:
    pseudonym = reg.pseudonymize(KEY, "S01", "p001")
    row = {"assessment_ref": "Ａ０", "site_code": "Ｓ０１", "patient_pseudonym": pseudonym,
           "endpoint": "ais_grade", "visit": "day49", "assessed_on": "2020-02-18",
           "value_text": "B", "assessor": "dr_x", "assessor_role": "blinded_independent",
           "blinded": True}
    saved = reg.save_row(registry, "assessments", row, actor="inv1")
    assert saved.action == "unchanged"  # Ａ０ of Ｓ０１ is the stored A0 of S01
    site = reg.add_record(reg.Site(site_code="Ｓ０９", name="New"), session=registry,
                          actor="dm")
    assert site.site_code == "S09"
    reg.update_record(site, {"site_code": "Ｓ１０"}, session=registry, actor="dm",
                      reason="renumbered")
    assert site.site_code == "S10" and reg.verify_audit(registry).ok
    assert _patients(registry) == 4
