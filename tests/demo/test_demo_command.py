"""`regmed demo`, the main job, end to end: registry, evaluation, both reports, single cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import regmed.registry as reg
from regmed.cli import main
from regmed.registry.study_dictionary import latest_study_dictionary, study_dictionary_history


def test_demo_writes_both_reports_with_the_planted_links(tmp_path: Path, capsys,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.delenv("REGMED_DATABASE_URL", raising=False)
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", "demo-command-test-key-0123456789")
    out = tmp_path / "demo"
    try:
        main(["demo", "--out", str(out), "--no-pdf"])
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    stdout = " ".join(capsys.readouterr().out.split())
    assert "Verdict: MET" in stdout and "audit trail intact" in stdout
    # how to open the web app on the demo registry (issue 17)
    assert f"export REGMED_DATABASE_URL=sqlite:///{out / 'regmed.sqlite'}" in stdout
    assert "regmed users add admin --role admin --set-password" in stdout
    assert "regmed serve" in stdout and "REGMED_WEB_SECRET_KEY" in stdout
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["verdict"]["overall"] == "met"
    quality = json.loads((out / "quality.json").read_text())["quality"]
    # the planted potency → response link (release potency, patients' outcome)
    cqa = {r["attribute"]: r for r in quality["cqa"]["estimates"]}
    assert cqa["potency_vegf"]["q_value"] < 0.05 and cqa["potency_vegf"]["estimate"] > 0
    # the planted state ↔ VEGF-under-hypoxia link of the simulated single-cell lots
    sc = quality["singlecell"]
    top = sc["association"]["rows"][0]
    assert sc["n_lots"] == 12 and top["q_value"] < 0.05 and top["estimate"] > 0
    markers = sc["markers"][top["cluster"]][:5]
    assert all(g.startswith("ANGIO") for g in markers), markers
    html = (out / "quality.html").read_text()
    assert f'data-cluster="{top["cluster"]}"' in html and 'id="cqa-table"' in html
    # the lots' files are in the registry, verified against their SHA-256, and audited
    engine = reg.make_engine(f"sqlite:///{out / 'regmed.sqlite'}")
    try:
        with reg.session_scope(engine) as session:
            files = reg.lot_files(session, verify=True)
            check = reg.verify_audit(session)
            dictionary = latest_study_dictionary(session)
            history = study_dictionary_history(session)
    finally:
        engine.dispose()
    assert len(files) == 12 and set(files["lot_code"]) == set(sc["association"]["lot_values"])
    assert check.ok
    # the demo registry comes with its study dictionary (stored before the data, which were
    # checked against it), naming every covariate of the plan, with the plan's visits
    assert dictionary is not None and [h["imported_by"] for h in history] == ["demo"]
    assert {"age", "sex", "ais_grade", "injury_level", "days_from_injury",
            "baseline_motor_score", "injury_year"} <= set(dictionary.names())
    assert [v.name for v in dictionary.visits] == ["day49", "day180"]
    assert "study dictionary version 1: 9 variables on 2 forms, 2 visits" in stdout
