"""Only complete adjudications reach the analysis, and a changed assessment reopens its own,
whatever path changed it (here `import_tables`, as `regmed import` does).

The small registry's assessments A0..A3 (site values B, C, A, B) get verdicts: A0 one review
(pending), A1 two agreeing reviews (D), A2 two disagreeing reviews (needs consensus), A3 two
disagreeing reviews and a consensus (E).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import regmed.registry as reg
from regmed.registry.adjudicated import final_verdicts, settle
from regmed.registry.extract import _mark_stale
from regmed.registry.io import export_frames

from .data import small_tables

VERDICTS = [("A0", "r1", "B", False), ("A1", "r1", "D", False), ("A1", "r2", "D", False),
            ("A2", "r1", "B", False), ("A2", "r2", "C", False), ("A3", "r1", "A", False),
            ("A3", "r2", "C", False), ("A3", "chair", "E", True)]


def _adjudications(day: str = "2020-07-01") -> pd.DataFrame:
    return pd.DataFrame([{"assessment_ref": a, "reviewer": r, "value_text": v,
                          "adjudicated_on": day, "consensus": str(c).lower(),
                          "reason": "majority" if c else "source_clear"}
                         for a, r, v, c in VERDICTS])


def _final(session: Session) -> dict[str, str]:
    frame = _mark_stale(session, export_frames(session)["adjudications"])
    out = final_verdicts(frame, 2)
    return dict(zip(out["assessment_ref"], out["value_text"], strict=True))


def test_settle_needs_the_plans_number_of_current_verdicts() -> None:
    one = [{"value_text": "B"}]
    assert settle(one, 2).state == "pending"
    assert settle([*one, {"value_text": "B"}], 2).final == 0
    assert settle([*one, {"value_text": "C"}], 2).state == "needs_consensus"
    assert settle([*one, {"value_text": "C"}, {"value_text": "C", "consensus": True}],
                  2).final == 2
    # a lone consensus row is no adjudication; a set-aside verdict does not count
    assert settle([{"value_text": "C", "consensus": True}], 2).state == "pending"
    stale = settle([{"value_text": "B", "stale": True}, {"value_text": "B"}], 2)
    assert (stale.state, stale.reopened) == ("pending", True)


def test_only_complete_adjudications_reach_the_analysis(session: Session) -> None:
    t = small_tables()
    t["adjudications"] = _adjudications()
    reg.import_tables(session, t, actor="tester")
    assert _final(session) == {"A1": "D", "A3": "E"}


def test_an_assessment_changed_by_import_reopens_its_adjudication(session: Session) -> None:
    t = small_tables()
    t["adjudications"] = _adjudications()
    reg.import_tables(session, t, actor="tester")
    changed = t["assessments"].copy()
    changed.loc[1, "value_text"] = "D"  # A1, adjudicated, changed at the site
    reg.import_tables(session, {"assessments": changed}, actor="site", reason="re-examined")
    assert _final(session) == {"A3": "E"}
    frame = _mark_stale(session, export_frames(session)["adjudications"])
    assert set(frame.loc[frame["stale"], "assessment_ref"]) == {"A1"}
    # the reviewers look again (a new review date): complete again
    again = _adjudications("2020-07-15")
    again = again[again["assessment_ref"] == "A1"]
    reg.import_tables(session, {"adjudications": again}, actor="cac", reason="re-review")
    assert _final(session) == {"A1": "D", "A3": "E"}
    assert reg.verify_audit(session).ok


def _reopen_events(session: Session) -> list[tuple[str, str, str, str]]:
    return [(e["table"], e["record_key"], e["action"], e["reason"])
            for table in ("adjudications", "adjudication_assignments")
            for e in reg.audit_log(session, table) if e["action"] != "insert"]


def _seeded(session: Session) -> None:
    t = small_tables()
    t["adjudications"] = _adjudications()
    reg.import_tables(session, t, actor="tester")


WHY = "reopened for re-review: the assessment changed (re-examined)"


def test_every_path_audits_the_reopening_alike(session: Session) -> None:
    """Import, save_row (web forms, API) and update_record (services) write the same events:
    one ``reopen`` per verdict set aside, none again while the verdicts are set aside already."""
    _seeded(session)
    changed = small_tables()["assessments"]
    changed.loc[1, "value_text"] = "D"  # A1: two agreeing verdicts
    changed.loc[3, "value_text"] = "C"  # A3: two verdicts and a consensus
    reg.import_tables(session, {"assessments": changed}, actor="site", reason="re-examined")
    assert _reopen_events(session) == [
        ("adjudications", f"{ref}:{who}", "reopen", WHY)
        for ref, who in (("A1", "r1"), ("A1", "r2"), ("A3", "r1"), ("A3", "r2"), ("A3", "chair"))]
    # the same change again, by another path: nothing is current any more, nothing reopens
    a1 = session.execute(select(reg.Assessment).where(
        reg.Assessment.assessment_ref == "A1")).scalar_one()
    reg.update_record(a1, {"value_text": "E"}, session=session, actor="svc", reason="typo")
    assert len(_reopen_events(session)) == 5
    # a re-review makes A1 current again; update_record then reopens it
    again = _adjudications("2020-07-15")
    reg.import_tables(session, {"adjudications": again[again["assessment_ref"] == "A1"]},
                      actor="cac", reason="re-review")
    assert _final(session) == {"A1": "D"}
    reg.update_record(a1, {"value_text": "B"}, session=session, actor="svc",
                      reason="re-examined")
    assert _reopen_events(session)[-2:] == [
        ("adjudications", "A1:r1", "reopen", WHY), ("adjudications", "A1:r2", "reopen", WHY)]
    assert _final(session) == {}
    # save_row, the path of the web forms and the API
    again = _adjudications("2020-07-20")
    reg.import_tables(session, {"adjudications": again[again["assessment_ref"] == "A1"]},
                      actor="cac", reason="re-review")
    row = export_frames(session)["assessments"].set_index("assessment_ref").loc["A1"]
    values = {**{k: (None if pd.isna(v) else v) for k, v in row.items()},
              "assessment_ref": "A1", "value_text": "C"}
    assert reg.save_row(session, "assessments", values, actor="inv",
                        reason="re-examined").action == "update"
    assert _reopen_events(session)[-2:] == [
        ("adjudications", "A1:r1", "reopen", WHY), ("adjudications", "A1:r2", "reopen", WHY)]
    assert _final(session) == {}
    # a change of A0 sets aside its one (pending) verdict
    n = len(_reopen_events(session))
    changed = small_tables()["assessments"]
    changed.loc[0, "assessor"] = "dr_y"  # A0: one review only
    reg.import_tables(session, {"assessments": changed.iloc[[0]]}, actor="site",
                      reason="re-examined")
    assert len(_reopen_events(session)) == n + 1  # A0's single (pending) verdict
    assert reg.verify_audit(session).ok
