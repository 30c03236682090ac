"""The evaluation-document schema: the sample follows it; malformed documents are named."""

from __future__ import annotations

import json

import pytest

from regmed.document import EvaluationDocument, null_value
from regmed.errors import DataError
from regmed.report import render_html, validate_document, write_report


def _fields(err: DataError) -> list[str]:
    return [p.field or "" for p in err.problems]


def test_sample_document_follows_schema(sample_doc):
    assert validate_document(sample_doc) is sample_doc


def test_every_schema_key_is_in_the_sample(sample_doc):
    # the fixture exercises every top-level part of the contract
    assert set(EvaluationDocument.__required_keys__) <= set(sample_doc)
    kinds = {a["kind"] for a in sample_doc["analyses"]}
    assert kinds == {"binary", "continuous", "survival"}


def test_missing_keys_are_reported_with_their_paths(sample_doc):
    del sample_doc["verdict"]
    del sample_doc["analyses"][2]["effect"]["ci_lower"]
    del sample_doc["meta"]["plan"]["sha256"]
    del sample_doc["analyses"][0]["propensity"]["distribution"][1]["stage"]
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    fields = _fields(info.value)
    assert fields == ["meta.plan.sha256", "verdict", "analyses[0].propensity.distribution[1].stage",
                      "analyses[2].effect.ci_lower"]
    assert all(p.message == "missing key" for p in info.value.problems)
    assert "analyses[2].effect.ci_lower: missing key" in str(info.value)


def test_wrong_types_and_categories_are_reported(sample_doc):
    sample_doc["power"]["shortfall"] = "yes"
    sample_doc["verdict"]["overall"] = "passed"
    sample_doc["analyses"][1]["n_control"] = 214.0
    sample_doc["analyses"][3]["km"] = {}
    sample_doc["warnings"] = "none"
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    assert set(_fields(info.value)) == {"power.shortfall", "verdict.overall",
                                        "analyses[1].n_control", "analyses[3].km", "warnings"}
    text = str(info.value)
    assert "'passed'" in text and "'met' or 'not_met' or 'inconclusive'" in text


def test_nulls_allowed_only_where_the_schema_says(sample_doc):
    sample_doc["analyses"][0]["effect"]["p_value"] = None  # allowed
    # allowed: a criterion may state only a confidence bound (plan: threshold optional)
    sample_doc["verdict"]["criteria"][0]["threshold"] = None
    sample_doc["verdict"]["criteria"][0]["measure"] = None  # not allowed
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    assert _fields(info.value) == ["verdict.criteria[0].measure"]


def test_inconsistent_attrition_and_km_are_reported(sample_doc):
    sample_doc["attrition"][1]["n_after"] = 120
    sample_doc["analyses"][0]["km"] = sample_doc["analyses"][4]["km"][:3]
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    assert _fields(info.value) == ["attrition[1]", "analyses[0].km"]


def test_unknown_keys_are_allowed(sample_doc):
    sample_doc["meta"]["extra_note"] = "added by a newer workflow"
    sample_doc["analyses"][0]["effect"]["method_detail"] = {"robust": True}
    validate_document(sample_doc)


def test_not_an_object():
    with pytest.raises(DataError) as info:
        validate_document([1, 2])
    assert _fields(info.value) == ["$"]


def test_render_and_write_refuse_a_malformed_document(sample_doc, tmp_path):
    del sample_doc["power"]["achieved_power"]
    with pytest.raises(DataError, match=r"power\.achieved_power: missing key"):
        render_html(sample_doc)
    with pytest.raises(DataError, match=r"power\.achieved_power"):
        write_report(sample_doc, tmp_path / "out", pdf=False)
    assert not (tmp_path / "out" / "report.html").exists()


def test_null_value_of_measures():
    assert null_value("hazard_ratio") == 1.0
    assert null_value("odds_ratio") == 1.0
    assert null_value("risk_difference") == 0.0


def test_read_document_names_the_file(tmp_path, sample_doc):
    from regmed.report import read_document

    good = tmp_path / "evaluation.json"
    good.write_text(json.dumps(sample_doc), encoding="utf-8")
    assert read_document(good)["meta"]["seed"] == sample_doc["meta"]["seed"]
    del sample_doc["quality"]["note"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sample_doc), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_document(bad)
    assert [(p.file, p.field) for p in info.value.problems] == [(str(bad), "quality.note")]
    broken = tmp_path / "broken.json"
    broken.write_text('{\n "meta": {,\n}', encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON") as info:
        read_document(broken)
    assert info.value.problems[0].row == 2
    with pytest.raises(DataError, match="not found"):
        read_document(tmp_path / "missing.json")


def test_quality_section_is_checked_by_key_path() -> None:
    import copy
    from pathlib import Path

    path = next(Path(__file__).parent.joinpath("data").glob("*.json"))
    doc = copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
    doc["quality"]["cqa"] = {"estimates": [{"attribute": "potency", "estimate": 0.9,
                                            "std_error": 0.3, "ci_lower": 0.3, "ci_upper": 1.5,
                                            "p_value": 0.003, "q_value": "small",
                                            "n_patients": 100, "n_lots": 100}],
                             "options": {"scale": "log odds ratio per SD"}}
    doc["quality"]["control_charts"] = {"viability": {"center": 90.0, "lcl": 80.0,
                                                      "ucl": 100.0, "signals": "none"}}
    with pytest.raises(DataError) as err:
        validate_document(doc)
    fields = {p.field for p in err.value.problems}
    assert fields == {"quality.cqa.estimates[0].q_value",
                      "quality.control_charts.viability.signals"}


def test_pydantic_strict_mode_reads_no_string_as_a_number(sample_doc):
    # pydantic validates the document in strict mode: "0.12" is not a number, True is not
    # an integer, 3.0 is not an integer, but an integer is a number
    sample_doc["analyses"][0]["effect"]["estimate"] = "0.12"
    sample_doc["analyses"][0]["n_treated"] = True
    sample_doc["analyses"][1]["n_treated"] = 3.0
    sample_doc["analyses"][2]["effect"]["ci_lower"] = 0
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    assert _fields(info.value) == ["analyses[0].n_treated", "analyses[0].effect.estimate",
                                   "analyses[1].n_treated"]
    assert "expected integer or number or null, got '0.12'" in str(info.value)


def test_an_optional_object_reports_the_keys_inside_it(sample_doc):
    # power may be null or an object: a partial object is reported key by key, not as
    # "expected object or null"
    power = sample_doc["power"]
    assert isinstance(power, dict)
    del power["shortfall"]
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    assert [(p.field, p.message) for p in info.value.problems] == [
        ("power.shortfall", "missing key")]


def test_quality_document_schema_lives_in_document() -> None:
    from regmed.document.quality import validate_quality_document
    from regmed.report.quality_page import validate_quality_document as from_report

    assert from_report is validate_quality_document
    with pytest.raises(DataError) as info:
        validate_quality_document({"meta": {"created_at": 1}, "quality": {}})
    fields = _fields(info.value)
    assert "meta.created_at" in fields and "meta.regmed_version" in fields
    assert any(f.startswith("quality.") for f in fields)


def test_binned_distributions_must_match_their_bins(sample_doc):
    propensity = sample_doc["analyses"][0]["propensity"]
    propensity["distribution"][0]["counts"].pop()
    propensity["distribution"][2]["weights"] = [1.0, 2.0]
    del propensity["distribution"][3]["counts"]
    sample_doc["analyses"][1]["propensity"]["bins"] = [0.0, 0.5, 0.4]
    with pytest.raises(DataError) as info:
        validate_document(sample_doc)
    where = "analyses[0].propensity.distribution"
    assert _fields(info.value) == [f"{where}[0].counts", f"{where}[2].weights",
                                   f"{where}[3].counts", "analyses[1].propensity.bins"]
    text = str(info.value)
    assert "49 counts for 50 bins" in text and "2 weights for 50 bins" in text
    assert "increasing" in text
