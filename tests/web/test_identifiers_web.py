"""The web's enrollment names patients as the importer does: a full-width or lower-case
patient_ref is the patient already enrolled under P1."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import login

ENROLL = {"sex": "F", "birth_year": 1990, "indication_code": "SCI", "cohort": "treated",
          "direction": "prospective", "index_on": "2026-02-01", "enrolled_on": "2026-02-02"}


def test_enrolling_p1_again_in_another_spelling_is_refused(client: TestClient) -> None:
    h = login(client, "inv1")
    for ref in ("ｐ１", "p1", "Ｐ１ "):
        r = client.post("/api/patients", headers=h, json={**ENROLL, "patient_ref": ref})
        assert r.status_code == 422 and "enrolled already" in r.text, (ref, r.text)
    r = client.post("/api/patients", headers=h, json={**ENROLL, "patient_ref": "ｎｅｗ-7"})
    assert r.status_code == 201
    r = client.post("/api/patients", headers=h, json={**ENROLL, "patient_ref": "NEW-7"})
    assert r.status_code == 422 and "enrolled already" in r.text
