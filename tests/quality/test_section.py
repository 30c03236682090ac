"""quality_section on the demo registry: the planted potency → response link shows up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from regmed.demo import generate
from regmed.quality import quality_section, simulate_quality


def test_demo_potency_link_and_oos_list() -> None:
    demo = generate("sci", seed=0, potency_effect=1.2)
    t = demo.tables
    patients = demo.truth["patients"]
    treated = patients[patients["cohort"] == "treated"]
    sec = quality_section(treated, t["lot_results"], t["quality_attributes"], "response",
                          lots=t["lots"], administrations=t["administrations"],
                          adjust=["age", "ais_grade"], log=["potency_vegf"],
                          potency="potency_vegf", strata_by=["sex"])
    json.dumps(sec)  # JSON-ready
    cqa = pd.DataFrame(sec["cqa"]["estimates"]).set_index("attribute")
    assert cqa.at["potency_vegf", "q_value"] < 0.05
    assert cqa.at["potency_vegf", "estimate"] > 0
    assert (cqa.drop(index="potency_vegf")["q_value"] >= 0.05).all()
    released_oos = set(t["lots"].loc[t["lots"]["status"] == "released_oos", "lot_code"])
    assert set(sec["specifications"]["oos_lots"]) == released_oos
    assert any("not identifiable" in n for n in sec["notes"])  # autologous: 1 lot per donor
    assert sec["comparability"]["reference"] == "v1"
    qa = t["quality_attributes"]
    numeric = set(qa.loc[qa["spec_category"].isna(), "attribute_code"])
    categories = set(qa.loc[qa["spec_category"].notna(), "attribute_code"])
    assert categories == {"sterility", "mycoplasma"}
    assert set(sec["control_charts"]) == numeric  # charts of numeric attributes only
    assert not categories & set(cqa.index)  # category tests are not screened as CQAs


def test_allogeneic_section_has_variance_components() -> None:
    sim = simulate_quality(n_donors=30, rng=2)
    attrs = pd.DataFrame({"attribute_code": sim.attributes, "unit": "u",
                          "lower_spec": np.nan, "upper_spec": np.nan})
    lots = sim.lots[["lot_code", "donor_code", "manufactured_on"]]
    sec = quality_section(sim.patients, sim.lot_results, attrs, "response", lots=lots,
                          adjust=["age"], cluster="donor")
    assert set(sec["variance_components"]) == set(sim.attributes)
    assert sec["specifications"]["oos_lots"] == []
    assert {r["attribute"] for r in sec["cqa"]["estimates"] if r["q_value"] < 0.05} >= {
        "a01", "a02"}
