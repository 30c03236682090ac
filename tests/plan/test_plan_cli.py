"""`regmed plan check` / `render`: output formats and exit codes; never a traceback."""

from __future__ import annotations

import json
import warnings

import pytest

from regmed.plan import example_path

with warnings.catch_warnings():
    # typer 0.20 imports click.utils.get_binary_stream, deprecated in the installed click 8.5;
    # a third-party import-time warning, not ours (reported to the lead).
    warnings.simplefilter("ignore", DeprecationWarning)
    from regmed.cli import main


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, " ".join(out.err.split())  # rich wraps stderr at the terminal width


@pytest.fixture
def runnable(example_text, write_plan):
    """The example plan as shipped (its interim design included)."""
    return example_text


def test_example_as_shipped_passes_check(capsys, use_calculator):
    code, out, err = _run(["plan", "check", str(example_path("sci_example"))], capsys)
    assert code == 0, err
    assert "Traceback" not in err


def test_interim_the_engine_does_not_run_is_refused_with_key_path(capsys, use_calculator,
                                                                   example_text, write_plan):
    text = example_text.replace("spending: asOF", "spending: WT").replace(
        "rule: promising_zone", "rule: conditional_power")
    code, out, err = _run(["plan", "check", str(write_plan(text))], capsys)
    assert code == 2 and out == ""
    assert "sample_size.interim.spending: spending 'WT' is not run by the engine" in err
    assert "sample_size.interim.reestimation.rule" in err
    assert "Traceback" not in err


def test_check_example_json_exit_0(capsys, use_calculator, runnable, write_plan):
    code, out, _ = _run(["plan", "check", str(write_plan(runnable)), "--format", "json"],
                        capsys)
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["findings"]
    first = doc["findings"][0]
    assert list(first) == ["item", "point", "status", "message", "reference"]
    d6 = [f for f in doc["findings"] if (f["item"], f["point"]) == ("6", "D6")]
    assert d6 and d6[0]["status"] == "met" and d6[0]["reference"] == "6 (6) D-6"


def test_check_table_and_exit_1_on_defect(capsys, use_calculator, runnable, write_plan):
    path = write_plan(
        runnable.replace("end: 2030-12-31}\n    adjustment", "end: 2028-12-31}\n    adjustment")
    )
    code, out, _ = _run(["plan", "check", str(path)], capsys)
    assert code == 1
    assert "D6" in out and "not_met" in out and "NOT OK" in out


def test_check_json_exit_1_on_missing(capsys, use_calculator, runnable, write_plan):
    path = write_plan(runnable.replace("management_plan:", "management_plan_old:"))
    code, out, err = _run(["plan", "check", str(path), "--format", "json"], capsys)
    assert code == 2  # an unknown key is a load error, not a finding
    assert "management_plan_old: unknown key" in err and "Traceback" not in err
    path = write_plan(runnable.split("management_plan:")[0])
    code, out, _ = _run(["plan", "check", str(path), "--format", "json"], capsys)
    assert code == 1
    c = [f for f in json.loads(out)["findings"] if f["item"] == "7" and f["point"] == "C"]
    assert c == [
        {
            "item": "7",
            "point": "C",
            "status": "missing",
            "message": "no management_plan",
            "reference": "6 (7) C",
        }
    ]


def test_bad_yaml_exit_2_without_traceback(capsys, write_plan):
    path = write_plan("product: [unclosed\n")
    code, out, err = _run(["plan", "check", str(path)], capsys)
    assert code == 2
    assert "not valid YAML" in err and "line 2" in err and "Traceback" not in err


def test_wrong_type_exit_2_with_key_path(capsys, example_text, write_plan):
    path = write_plan(example_text.replace("start: 2019-01-01", "start: soon"))
    code, _, err = _run(["plan", "check", str(path)], capsys)
    assert code == 2
    assert "controls[1].period.start: not a date" in err


def test_render_writes_html(capsys, use_calculator, tmp_path):
    out_dir = tmp_path / "doc"
    code, out, _ = _run(
        [
            "plan",
            "render",
            str(example_path("sci_example")),
            "--out",
            str(out_dir),
            "--lang",
            "en",
            "--no-pdf",
        ],
        capsys,
    )
    assert code == 0
    html = (out_dir / "plan.html").read_text(encoding="utf-8")
    assert "(1) Sample size" in html and out.strip().endswith("plan.html")


def test_check_against_data_facts(capsys, use_calculator, tmp_path, runnable, write_plan):
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {
                "cohorts": {
                    "treated": {"start": "2026-04-01", "end": "2030-12-01", "n": 49},
                    "concurrent_control": {"start": "2026-04-01", "end": "2028-12-31", "n": 102},
                },
                "n_sites": 6,
                "blinded_share": 0.99,
            }
        )
    )
    argv = ["plan", "check", str(write_plan(runnable)), "--format", "json"]
    code, out, _ = _run([*argv, "--facts", str(facts)], capsys)
    assert code == 1
    failing = [f for f in json.loads(out)["findings"] if f["status"] == "not_met"]
    assert {(f["item"], f["point"]) for f in failing} == {("1", "enrolment"), ("6", "D6")}
    facts.write_text("{not json")
    code, _, err = _run([*argv, "--facts", str(facts)], capsys)
    assert code == 2 and "not valid JSON: line 1" in err


@pytest.mark.parametrize("value, shown", [("1e400", "'1e400'"), (".nan", "nan"),
                                          ("-.inf", "-inf")])
def test_check_refuses_a_non_finite_threshold_with_its_key_path(capsys, runnable, write_plan,
                                                                value, shown):
    assert "threshold: 0.15 " in runnable
    path = write_plan(runnable.replace("threshold: 0.15 ", f"threshold: {value} ", 1))
    code, out, err = _run(["plan", "check", str(path)], capsys)
    assert code == 2 and out == ""
    assert "achievement_criteria[0].threshold: must be a finite number" in err
    assert shown in err and "Traceback" not in err
