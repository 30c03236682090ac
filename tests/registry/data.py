"""A small valid registry in dictionary form (the way a site's CSV files look)."""

from __future__ import annotations

import pandas as pd


def small_tables() -> dict[str, pd.DataFrame]:
    """Two sites, one product, two lots, four patients with their follow-up."""
    t: dict[str, list[dict[str, object]]] = {
        "sites": [
            {"site_code": "S01", "name": "Sapporo Medical", "country": "JP"},
            {"site_code": "S02", "name": "Osaka General", "country": "JP"},
        ],
        "products": [
            {
                "product_code": "MSC1",
                "name": "Autologous BM-MSC",
                "type": "autologous",
                "approval_kind": "conditional",
                "approval_date": "2018-12-28",
            }
        ],
        "indications": [
            {"indication_code": "SCI", "product_code": "MSC1", "name": "Spinal cord injury"}
        ],
        "quality_attributes": [
            {
                "product_code": "MSC1",
                "attribute_code": "viability",
                "name": "Viability",
                "unit": "%",
                "method": "trypan blue",
                "lower_spec": "70",
                "upper_spec": "",
            },
            {
                "product_code": "MSC1",
                "attribute_code": "potency",
                "name": "Potency",
                "unit": "pg/mL",
                "method": "ELISA",
                "lower_spec": "",
                "upper_spec": "",
            },
        ],
        "donors": [
            {"donor_code": "D1", "sex": "M", "birth_year": "1970"},
            {"donor_code": "D2", "sex": "F", "birth_year": "1985"},
        ],
        "lots": [
            {
                "lot_code": f"L{i}",
                "product_code": "MSC1",
                "donor_code": f"D{i}",
                "process_version": "v1",
                "manufactured_on": "2020-01-10",
                "released_on": "2020-01-20",
                "status": "released",
                "coa_reference": f"COA-{i}",
            }
            for i in (1, 2)
        ],
        "lot_results": [
            {
                "lot_code": lot,
                "attribute_code": a,
                "value": v,
                "unit": u,
                "measured_on": "2020-01-15",
            }
            for lot, a, v, u in [
                ("L1", "viability", "92.5", "%"),
                ("L1", "potency", "1234.5", "pg/mL"),
                ("L2", "viability", "68.25", "%"),
                ("L2", "potency", "987.125", "pg/mL"),
            ]
        ],
        "shipments": [
            {
                "shipment_code": f"SH{i}",
                "lot_code": f"L{i}",
                "site_code": "S01",
                "shipped_on": "2020-01-21",
                "received_on": "2020-01-22",
                "receipt_temperature_c": "4.5",
                "time_out_of_storage_min": "30",
                "viability_at_receipt_pct": "90.1",
            }
            for i in (1, 2)
        ],
        "patients": [
            {"site_code": s, "patient_ref": r, "sex": sex, "birth_year": y, "donor_code": d}
            for s, r, sex, y, d in [
                ("S01", "P001", "M", "1970", "D1"),
                ("S01", "P002", "F", "1985", "D2"),
                ("S02", "P001", "M", "1960", ""),
                ("S02", "P003", "F", "1990", ""),
            ]
        ],
        "baseline": [
            {
                "site_code": "S01",
                "patient_ref": "P001",
                "variable": "ais_grade",
                "value": "",
                "value_text": "A",
            },
            {
                "site_code": "S01",
                "patient_ref": "P001",
                "variable": "days_from_injury",
                "value": "14",
                "value_text": "",
            },
            {
                "site_code": "S02",
                "patient_ref": "P001",
                "variable": "ais_grade",
                "value": "",
                "value_text": "B",
            },
        ],
        "enrollments": [
            {
                "site_code": s,
                "patient_ref": r,
                "indication_code": "SCI",
                "cohort": c,
                "direction": "prospective",
                "source": "",
                "index_on": "2020-01-01",
                "enrolled_on": "2020-01-05",
            }
            for s, r, c in [
                ("S01", "P001", "treated"),
                ("S01", "P002", "treated"),
                ("S02", "P001", "concurrent_control"),
                ("S02", "P003", "concurrent_control"),
            ]
        ],
        "administrations": [
            {
                "site_code": "S01",
                "patient_ref": r,
                "lot_code": lot,
                "administered_on": "2020-01-25",
                "dose": "1.5e8",
                "dose_unit": "cells",
                "route": "intravenous",
                "surgery": "false",
                "oos_request_documented": "",
            }
            for r, lot in [("P001", "L1"), ("P002", "L2")]
        ],
        "assessments": [
            {
                "assessment_ref": f"A{i}",
                "site_code": s,
                "patient_ref": r,
                "endpoint": "ais_grade",
                "visit": v,
                "assessed_on": d,
                "value": "",
                "value_text": g,
                "assessor": "dr_x",
                "assessor_role": "blinded_independent",
                "blinded": "true",
            }
            for i, (s, r, v, d, g) in enumerate(
                [
                    ("S01", "P001", "day49", "2020-02-18", "B"),
                    ("S01", "P002", "day49", "2020-02-18", "C"),
                    ("S02", "P001", "day49", "2020-02-19", "A"),
                    ("S02", "P003", "day180", "2020-06-29", "B"),
                ]
            )
        ],
        "adjudications": [
            {
                "assessment_ref": "A0",
                "reviewer": "committee",
                "value": "",
                "value_text": "B",
                "adjudicated_on": "2020-03-01",
                "consensus": "true",
            }
        ],
        "adverse_events": [
            {
                "site_code": "S01",
                "patient_ref": "P001",
                "ae_ref": "AE1",
                "term": "Fever",
                "onset_on": "2020-01-26",
                "serious": "false",
                "grade": "1",
                "related": "possibly_related",
                "outcome": "recovered",
            }
        ],
        "follow_ups": [
            {
                "site_code": "S01",
                "patient_ref": "P001",
                "last_contact_on": "2020-07-01",
                "status": "alive",
                "death_on": "",
                "death_cause": "",
            },
            {
                "site_code": "S02",
                "patient_ref": "P003",
                "last_contact_on": "2020-08-01",
                "status": "dead",
                "death_on": "2020-08-01",
                "death_cause": "pneumonia",
            },
        ],
    }
    return {name: pd.DataFrame(rows).astype(str) for name, rows in t.items()}
