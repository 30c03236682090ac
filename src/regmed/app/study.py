"""Use cases of the study dictionary: import a REDCap data dictionary into the registry,
export the stored one, and check a plan's variables against it.

The plan names its adjustment covariates and its endpoints' measurement variables; with a
study dictionary those must be dictionary variables. :func:`plan_variable_problems` lists each
name that is not, with its plan key path (``controls[0].adjustment.covariates[2]``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from regmed.errors import Problem
from regmed.plan import Plan
from regmed.study import (
    StudyDictionary,
    Visit,
    parse_instruments_text,
    parse_redcap_text,
    read_event_mapping_csv,
    read_instruments_csv,
    read_redcap_csv,
    write_event_mapping_csv,
    write_instruments_csv,
    write_redcap_csv,
)

__all__ = ["import_study_dictionary", "export_study_dictionary", "plan_variable_problems",
           "registry_study_dictionary", "plan_dictionary_problems", "study_dictionary_history",
           "REGISTRY_VARIABLES", "plan_visits", "store_demo_dictionary"]

#: Variables the registry's own records give to every analysis (no dictionary entry needed).
REGISTRY_VARIABLES = ("death",)


def import_study_dictionary(path: Path, *, actor: str, reason: str, url: str | None = None,
                            encoding: str = "utf-8-sig", visits_from_plan: str | None = None,
                            events: Path | None = None,
                            instruments: Path | None = None) -> dict[str, Any]:
    """Read a REDCap data dictionary CSV and store it as the registry's next version.

    ``visits_from_plan`` names a locked plan of the registry whose visits (its endpoints'
    baseline and outcome visits) become the dictionary's visit schedule (a REDCap data
    dictionary has none). ``events`` is REDCap's instrument designation CSV: which forms are
    filled at which visits of that schedule (the other forms stay patient-level);
    ``instruments`` is REDCap's instrument list CSV (the forms' titles). Returns the
    stored version: ``version``, ``sha256``, ``variables``, ``forms``, ``visits``,
    ``visit_forms`` (visit → forms), ``source_sha256``. Nothing is stored when a file is
    refused (every problem is named with file, row and column) or identical to the latest
    version.
    """
    from regmed.registry import session_scope
    from regmed.registry.opening import open_registry
    from regmed.registry.plans import get_plan_version, plan_of
    from regmed.registry.study_dictionary import store_study_dictionary

    dictionary = read_redcap_csv(path, encoding=encoding)
    source_sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    engine = open_registry(url)
    try:
        with session_scope(engine) as session:
            if visits_from_plan is not None:
                plan = plan_of(get_plan_version(session, visits_from_plan))
                dictionary = dictionary.model_copy(update={"visits": tuple(plan_visits(plan))})
            if events is not None:
                dictionary = read_event_mapping_csv(events, dictionary, encoding=encoding)
            if instruments is not None:
                dictionary = read_instruments_csv(instruments, dictionary, encoding=encoding)
            record = store_study_dictionary(dictionary, session=session, actor=actor,
                                            reason=reason, source_file=Path(path).name,
                                            source_sha256=source_sha)
            return {"version": record.version, "sha256": record.sha256,
                    "variables": record.n_variables, "forms": dictionary.forms(),
                    "visits": [v.name for v in dictionary.visits],
                    "visit_forms": {v.name: dictionary.visit_forms(v.name)
                                    for v in dictionary.visits
                                    if dictionary.visit_forms(v.name)},
                    "source_sha256": source_sha}
    finally:
        engine.dispose()


def export_study_dictionary(out: Path, *, url: str | None = None, version: int | None = None,
                            events_out: Path | None = None,
                            instruments_out: Path | None = None) -> dict[str, Any]:
    """Write the stored study dictionary (the latest, or ``version``) as a REDCap data
    dictionary CSV at ``out`` (and its instrument–event mapping as REDCap's instrument
    designation CSV at ``events_out``, its form titles as REDCap's instrument list at
    ``instruments_out``). Returns ``version``, ``sha256``, ``variables``, ``events`` (rows of
    the mapping) and ``forms_labelled``."""
    from regmed.registry import session_scope
    from regmed.registry.opening import open_registry
    from regmed.registry.study_dictionary import dictionary_of, get_study_dictionary

    engine = open_registry(url)
    try:
        with session_scope(engine) as session:
            record = get_study_dictionary(session, version)
            dictionary = dictionary_of(record)
            info = {"version": record.version, "sha256": record.sha256,
                    "variables": record.n_variables, "events": len(dictionary.events),
                    "forms_labelled": len(dictionary.form_labels)}
    finally:
        engine.dispose()
    write_redcap_csv(dictionary, out)
    if events_out is not None:
        write_event_mapping_csv(dictionary, events_out)
    if instruments_out is not None:
        write_instruments_csv(dictionary, instruments_out)
    return info


def study_dictionary_history(url: str | None = None) -> list[dict[str, Any]]:
    """Every stored version of the registry at ``url`` (see
    :func:`regmed.registry.study_dictionary.study_dictionary_history`)."""
    from regmed.registry import session_scope
    from regmed.registry.opening import open_registry
    from regmed.registry.study_dictionary import study_dictionary_history as history

    engine = open_registry(url)
    try:
        with session_scope(engine) as session:
            return history(session)
    finally:
        engine.dispose()


def registry_study_dictionary(url: str | None = None) -> StudyDictionary | None:
    """The latest study dictionary of the registry at ``url`` (None when it holds none)."""
    from regmed.registry import session_scope
    from regmed.registry.opening import open_registry
    from regmed.registry.study_dictionary import latest_study_dictionary

    engine = open_registry(url)
    try:
        with session_scope(engine) as session:
            return latest_study_dictionary(session)
    finally:
        engine.dispose()


def plan_visits(plan: Plan) -> list[Visit]:
    """The visit schedule of a plan: its endpoints' baseline and outcome visits (each name
    once, by day)."""
    visits: dict[str, Visit] = {}
    for e in plan.endpoints:
        m = e.measurement
        for v in (m.baseline_visit, m.outcome_visit) if m is not None else ():
            if v is not None and v.name not in visits:
                visits[v.name] = Visit(name=v.name, day=int(v.day), window=int(v.window or 0))
    return sorted(visits.values(), key=lambda v: v.day)


def store_demo_dictionary(engine: Engine, scenario: str, plan_yaml: str) -> str | None:
    """Store the demo scenario's study dictionary (with the plan's visits) in the demo's
    registry; returns a line saying so (None for a scenario without a dictionary)."""
    from regmed import demo
    from regmed.plan import load_plan
    from regmed.registry import session_scope
    from regmed.registry.study_dictionary import store_study_dictionary

    text = demo.study_dictionary_csv(scenario)
    if text is None:
        return None
    name = f"demo-{scenario}-dictionary.csv"
    parsed = parse_redcap_text(text, file=name)
    dictionary = parsed.model_copy(update={"visits": tuple(plan_visits(load_plan(plan_yaml)))})
    titles = demo.study_instruments_csv(scenario)
    if titles is not None:
        dictionary = parse_instruments_text(titles, dictionary, file=f"demo-{scenario}-forms.csv")
    with session_scope(engine) as session:
        record = store_study_dictionary(
            dictionary, session=session, actor="demo", reason="demo study dictionary",
            source_file=name, source_sha256=hashlib.sha256(text.encode()).hexdigest())
        return (f"study dictionary version {record.version}: {record.n_variables} variables "
                f"on {len(dictionary.forms())} forms, {len(dictionary.visits)} visits "
                f"(export it with `regmed dictionary export --out FILE`)")


def plan_variable_problems(plan: Plan, dictionary: StudyDictionary, *,
                           file: str | None = None) -> list[Problem]:
    """Each plan covariate or endpoint variable that is not a dictionary variable.

    The registry's own derived variables (:data:`REGISTRY_VARIABLES`) need no entry.
    """
    known = set(dictionary.names()) | set(REGISTRY_VARIABLES)
    problems = []

    def check(name: str, path: str, what: str) -> None:
        if name not in known:
            problems.append(Problem(f"{what} {name!r} is not a variable of the study "
                                    f"dictionary (version {dictionary.version})",
                                    file=file, field=path))

    for i, e in enumerate(plan.endpoints):
        if e.measurement is not None:
            check(e.measurement.variable, f"endpoints[{i}].measurement.variable",
                  "the endpoint's measurement variable")
    for i, c in enumerate(plan.controls):
        if c.adjustment is not None:
            for j, name in enumerate(c.adjustment.covariates):
                check(name, f"controls[{i}].adjustment.covariates[{j}]", "the covariate")
    return problems


def plan_dictionary_problems(plan: Plan, *, file: str | None = None,
                             dictionary_file: Path | None = None, url: str | None = None,
                             ) -> tuple[StudyDictionary | None, list[Problem]]:
    """The study dictionary a plan is checked against (``dictionary_file``, else the
    registry's at ``url``) and the plan's names missing from it (none without a dictionary)."""
    dictionary = (read_redcap_csv(dictionary_file) if dictionary_file is not None
                  else registry_study_dictionary(url))
    if dictionary is None:
        return None, []
    return dictionary, plan_variable_problems(plan, dictionary, file=file)
