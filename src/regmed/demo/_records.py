"""Patient-level records shared by the scenarios: patients, adverse events, follow-ups."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from regmed.demo._common import days, frame, iso, optional

__all__ = ["AeKind", "Visit", "assign_refs", "adverse_events", "assessments", "adjudications",
           "follow_ups"]


@dataclasses.dataclass(frozen=True)
class AeKind:
    """One kind of adverse event and how often it happens.

    ``after_administration`` events start 0–``window`` days after the administration
    (treated patients only); the others start at any time during follow-up, for treated
    patients and prospective controls alike.
    """

    term: str
    rate_treated: float
    rate_control: float
    grades: Sequence[int]
    serious_rate: float
    related: Sequence[str]
    outcomes: Sequence[str]
    after_administration: bool = False
    window: int = 2


def assign_refs(site_codes: np.ndarray) -> list[str]:
    """Site-specific patient identifiers ``<site>-0001``, numbered within each site."""
    counter = pd.Series(site_codes).groupby(site_codes).cumcount().to_numpy() + 1
    return [f"{s}-{k:04d}" for s, k in zip(site_codes, counter, strict=True)]


def adverse_events(
    rng: np.random.Generator,
    *,
    kinds: Sequence[AeKind],
    site_codes: np.ndarray,
    refs: Sequence[str],
    index_on: np.ndarray,
    collect: np.ndarray,
    treated: np.ndarray,
    start_day: np.ndarray,
    admin_day: np.ndarray,
    end_day: np.ndarray,
    death_day: np.ndarray,
    death_cause: np.ndarray,
) -> pd.DataFrame:
    """Adverse events of the patients with ``collect`` true.

    Day arguments count from ``index_on``; events start no earlier than ``start_day + 1`` and
    no later than ``end_day`` (the last contact). A death (``death_day`` not NaN) adds a fatal,
    serious grade-5 event named after its cause on the day of death.
    """
    rows: dict[str, list] = {c: [] for c in (
        "site_code", "patient_ref", "ae_ref", "term", "onset_on", "serious", "grade", "related",
        "outcome")}
    n = len(refs)
    count = np.zeros(n, dtype=int)
    who: list[int] = []
    onset_day: list[float] = []

    def add(i: int, term: str, onset: float, serious: bool, grade: int, related: str,
            outcome: str) -> None:
        count[i] += 1
        rows["site_code"].append(site_codes[i])
        rows["patient_ref"].append(refs[i])
        rows["ae_ref"].append(f"AE{count[i]:03d}")
        rows["term"].append(term)
        who.append(i)
        onset_day.append(float(onset))
        rows["serious"].append(bool(serious))
        rows["grade"].append(int(grade))
        rows["related"].append(related)
        rows["outcome"].append(outcome)

    for kind in kinds:
        rate = np.where(treated, kind.rate_treated, kind.rate_control)
        hit = collect & (rng.random(n) < rate)
        if kind.after_administration:
            hit &= treated & ~np.isnan(admin_day)
        for i in np.flatnonzero(hit):
            if kind.after_administration:
                onset = admin_day[i] + rng.integers(0, kind.window + 1)
            else:
                onset = rng.integers(int(start_day[i]) + 1, int(end_day[i]) + 1)
            onset = min(onset, end_day[i])
            grade = int(rng.choice(list(kind.grades)))
            serious = grade >= 3 and rng.random() < kind.serious_rate
            related = str(rng.choice(list(kind.related)))
            outcome = str(rng.choice(list(kind.outcomes)))
            add(i, kind.term, onset, serious, grade, related, outcome)
    for i in np.flatnonzero(collect & ~np.isnan(death_day)):
        related = "unknown" if treated[i] and rng.random() < 0.3 else "not_related"
        add(i, str(death_cause[i]), death_day[i], True, 5, related, "fatal")
    rows["onset_on"] = iso(days(index_on[np.asarray(who, dtype=int)], onset_day))
    return frame("adverse_events", rows)


def follow_ups(
    *,
    site_codes: np.ndarray,
    refs: Sequence[str],
    index_on: np.ndarray,
    last_day: np.ndarray,
    status: np.ndarray,
    death_day: np.ndarray,
    death_cause: np.ndarray,
) -> pd.DataFrame:
    """Last known status of every patient (``status`` alive/dead/lost)."""
    dead = status == "dead"
    death_on = np.where(dead, days(index_on, np.nan_to_num(death_day)), np.datetime64("NaT"))
    return frame("follow_ups", {
        "site_code": site_codes,
        "patient_ref": refs,
        "last_contact_on": iso(days(index_on, last_day)),
        "status": status,
        "death_on": iso(death_on.astype("datetime64[D]")),
        "death_cause": optional(dead, death_cause),
    })


@dataclasses.dataclass(frozen=True)
class Visit:
    """One visit's assessments: day (NaN = not assessed), central and physician values."""

    name: str
    day: np.ndarray
    central: np.ndarray
    physician: np.ndarray        # bool: the treating physician assessed too
    physician_value: np.ndarray


def assessments(
    rng: np.random.Generator,
    *,
    endpoint: str,
    visits: Sequence[Visit],
    site_codes: np.ndarray,
    refs: Sequence[str],
    index_on: np.ndarray,
    numeric: bool,
    central_assessors: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Assessment rows of every visit: a blinded central one and, where marked, the physician's.

    Returns the frame and, per visit name, the row numbers of the physician assessments whose
    value differs from the central one (``-1`` where there is none), for adjudication.
    """
    rows: dict[str, list] = {c: [] for c in (
        "assessment_ref", "site_code", "patient_ref", "endpoint", "visit", "assessed_on",
        "value", "value_text", "assessor", "assessor_role", "blinded")}
    discordant: dict[str, np.ndarray] = {}
    patient: list[int] = []
    on_day: list[float] = []

    def add(i: int, visit: str, day: float, value: object, assessor: str, role: str) -> int:
        k = len(rows["assessment_ref"])
        rows["assessment_ref"].append(f"AS{k + 1:06d}")
        rows["site_code"].append(site_codes[i])
        rows["patient_ref"].append(refs[i])
        rows["endpoint"].append(endpoint)
        rows["visit"].append(visit)
        patient.append(i)
        on_day.append(float(day))
        rows["value"].append(float(value) if numeric else np.nan)  # type: ignore[arg-type]
        rows["value_text"].append(None if numeric else str(value))
        rows["assessor"].append(assessor)
        rows["assessor_role"].append(role)
        rows["blinded"].append(role != "treating_physician")
        return k

    for visit in visits:
        found = np.full(len(refs), -1)
        who = rng.integers(0, len(central_assessors), size=len(refs))
        doctor = rng.integers(1, 4, size=len(refs))
        for i in np.flatnonzero(~np.isnan(visit.day)):
            add(i, visit.name, visit.day[i], visit.central[i], central_assessors[who[i]],
                "blinded_central")
            if visit.physician[i]:
                k = add(i, visit.name, visit.day[i], visit.physician_value[i],
                        f"DR-{site_codes[i]}-{doctor[i]}", "treating_physician")
                if visit.physician_value[i] != visit.central[i]:
                    found[i] = k
        discordant[visit.name] = found
    rows["assessed_on"] = iso(days(index_on[np.asarray(patient, dtype=int)], on_day))
    return frame("assessments", rows), discordant


def adjudications(
    rng: np.random.Generator,
    table: pd.DataFrame,
    rows: np.ndarray,
    central: np.ndarray,
    *,
    numeric: bool,
) -> pd.DataFrame:
    """Two independent central reviews of each discordant physician score; both find the
    central value (so no consensus step is needed)."""
    picked = np.flatnonzero(rows >= 0)
    sub = table.iloc[rows[picked]]
    assessed = np.asarray(sub["assessed_on"].to_numpy(dtype=str), dtype="datetime64[D]")
    verdict = central[picked]
    on = iso(days(assessed, rng.integers(7, 31, size=len(picked))))
    k = len(picked)
    return frame("adjudications", {
        "assessment_ref": np.repeat(sub["assessment_ref"].to_numpy(), 2),
        "reviewer": [f"CAC-{r}" for r in (1, 2)] * k,
        "value": np.repeat(verdict.astype(float) if numeric else np.full(k, np.nan), 2),
        "value_text": [None] * (2 * k) if numeric else [str(v) for v in np.repeat(verdict, 2)],
        "adjudicated_on": np.repeat(np.asarray(on, dtype=object), 2),
        "consensus": [False] * (2 * k),
        "reason": ["source_clear"] * (2 * k),
    })
