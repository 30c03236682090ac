"""The evaluation carries the quality section; the demo's planted potency link shows up."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regmed.app import quality_report, run_evaluation
from regmed.cli import main
from regmed.document import validate_document


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str, object]:
    """The `regmed demo` pipeline's registry (scenario sci, seed 7, default sizes)."""
    from regmed import demo, registry
    from regmed.registry.plans import lock_plan

    tmp = tmp_path_factory.mktemp("qdemo")
    url = f"sqlite:///{tmp / 'demo.sqlite'}"
    mp = pytest.MonkeyPatch()
    mp.delenv("REGMED_DATABASE_URL", raising=False)
    mp.setenv("REGMED_PSEUDONYM_KEY", "0" * 64)
    engine = registry.make_engine(url)
    registry.upgrade(engine)
    data = demo.generate("sci", seed=7)
    with registry.session_scope(engine) as session:
        registry.import_tables(session, data.tables, actor="test", reason="test data",
                               key=registry.load_key(url))
        lock_plan(data.plan_yaml, session=session, name="demo-sci", signer="Tester",
                  reason="agreed before outcome data")
    engine.dispose()
    doc, files = run_evaluation(plan="demo-sci", version=None, exploratory=False,
                                out=tmp / "out", pdf=False, url=url)
    yield doc, files["html"], url, data
    mp.undo()


def test_demo_potency_is_a_cqa_with_q_below_005(demo_run) -> None:
    doc, html_path, _, _ = demo_run
    validate_document(doc)
    cqa = pd.DataFrame(doc["quality"]["cqa"]["estimates"]).set_index("attribute")
    assert cqa.at["potency_vegf", "q_value"] < 0.05
    assert cqa.at["potency_vegf", "estimate"] > 0
    assert bool(cqa.at["potency_vegf", "planned"])
    assert doc["quality"]["cqa"]["options"]["log"] == ["potency_vegf"]  # the plan's scale: log
    html = Path(html_path).read_text(encoding="utf-8")
    assert 'id="cqa-table"' in html
    row = html.split('data-attribute="potency_vegf"', 1)[1].split("</tr>", 1)[0]
    q = float(row.split('<td class="num">')[3].split("<")[0])  # estimate, p, q columns
    assert q == pytest.approx(round(cqa.at["potency_vegf", "q_value"], 3), abs=1e-9)


def test_oos_patients_are_flagged_everywhere(demo_run) -> None:
    doc, html_path, _, data = demo_run
    lots = data.tables["lots"]
    oos_lots = set(lots.loc[lots["status"] == "released_oos", "lot_code"])
    assert oos_lots, "the demo plants OOS lots"
    q = doc["quality"]
    assert set(q["specifications"]["oos_lots"]) == oos_lots
    assert {f["lot"] for f in q["flagged_patients"]} == oos_lots
    step = [r for r in doc["attrition"] if r["step"] == "lot quality"]
    assert len(step) == 1 and step[0]["n_excluded"] == 0
    assert str(len(oos_lots)) in step[0]["reason"]
    primary = doc["analyses"][0]
    row = [s for s in primary["sensitivity"] if "OOS" in s["analysis"]]
    assert len(row) == 1 and row[0]["estimate"] is not None
    assert any("out-of-specification" in w for w in doc["warnings"])
    html = Path(html_path).read_text(encoding="utf-8")
    assert 'id="oos-patients"' in html and 'id="comparability-table"' in html
    for f in q["flagged_patients"]:
        assert f["patient_id"] in html


def test_quality_report_command(demo_run, tmp_path: Path) -> None:
    _, _, url, _ = demo_run
    doc, files = quality_report(out=tmp_path / "q", plan="demo-sci", pdf=False, url=url)
    html = files["html"].read_text(encoding="utf-8")
    assert 'data-attribute="potency_vegf"' in html and 'data-figure="lot-series"' in html
    lot_only, files2 = quality_report(out=tmp_path / "q2", pdf=False, url=url)
    assert "cqa" not in lot_only["quality"] and lot_only["quality"]["specifications"]
    assert 'id="cqa-table"' not in files2["html"].read_text(encoding="utf-8")
    assert doc["meta"]["plan"]["name"] == "demo-sci"


def test_quality_commands_report_bad_input(demo_run, tmp_path: Path, capsys) -> None:
    _, _, url, _ = demo_run
    with pytest.raises(SystemExit) as ex:
        main(["quality", "compare", "--db", url, "--reference-process", "v1",
              "--candidate-process", "v9", "--attribute", "nope"])
    assert ex.value.code == 2
    err = capsys.readouterr().err
    assert "v9" in err and "nope" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as ex:
        main(["quality", "report", "--db", url, "--plan", str(tmp_path / "missing.yaml"),
              "--out", str(tmp_path), "--no-pdf"])
    assert ex.value.code == 2
    main(["quality", "compare", "--db", url, "--reference-process", "v1",
          "--candidate-process", "v2", "--attribute", "viability"])
    assert "viability" in capsys.readouterr().out
