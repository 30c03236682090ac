"""The checklist's result types: one finding per index item and sub-point, and the data facts.

A :class:`Finding` says what was checked against which section of the evaluation index and
with what status:

``met``
    the plan does what the index asks;
``justified``
    it does not, but gives the justification the index asks for;
``missing``
    the plan does not say (a block, a justification, a confirmation is absent);
``not_met``
    the plan (or the data) says something that contradicts the index.

References
----------
MHLW (2024). Evaluation index for conditional and time-limited approval of human MSC-processed
products and the subsequent efficacy evaluation plan (``seeds/000``), section 6 (1)–(7).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from regmed.plan.model import Plan
from regmed.results import Result, format_table

__all__ = ["Finding", "Checklist", "DataFacts", "STATUSES", "FAILING"]

Status = Literal["met", "justified", "missing", "not_met"]
STATUSES: tuple[str, ...] = ("met", "justified", "missing", "not_met")
#: Statuses that make ``regmed plan check`` exit non-zero.
FAILING = frozenset({"missing", "not_met"})


@dataclasses.dataclass(frozen=True)
class Finding:
    """One checked point.

    Parameters
    ----------
    item : str
        The index item, ``"1"`` … ``"7"`` of section 6.
    point : str
        The sub-point (``"D6"``, ``"E-era"``, ``"size"`` …).
    status : {"met", "justified", "missing", "not_met"}
    message : str
        What was found, naming the plan keys involved.
    reference : str
        The index section, e.g. ``"6 (6) D-6"``.
    source : {"plan", "data"}
        Whether the plan text or the collected data were checked.
    """

    item: str
    point: str
    status: Status
    message: str
    reference: str
    source: Literal["plan", "data"] = "plan"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class DataFacts:
    """What the collected data show, so that the plan's checks can be re-run against them.

    Every field is optional; a check uses the facts it finds and reports with
    ``source="data"``.

    Parameters
    ----------
    treated_period : tuple of date, optional
        First and last date of the treated patients' data actually collected.
    control_periods : mapping int -> (date, date)
        Actual collection period of each control, keyed by its index in ``plan.controls``.
    n_by_cohort : mapping str -> int
        Patients per cohort: ``treated`` and the control kinds ``concurrent``,
        ``external``, ``historical``.
    site_count : int, optional
        Number of sites that contributed patients.
    blinded_share : float, optional
        Share of primary-endpoint assessments made by blinded assessors (0–1).
    adjudicated_share : float, optional
        Share of primary-endpoint assessments reviewed by the central committee (0–1).
    control_covariates : mapping int -> set of str
        Covariates actually present in each control's data, keyed by control index.
    lot_linked_share : float, optional
        Share of treated patients linked to a lot with quality data (0–1).
    min_share : float
        The share of blinded / adjudicated / lot-linked records below which the data do
        not meet what the plan promised (default 0.9).
    """

    treated_period: tuple[dt.date, dt.date] | None = None
    control_periods: Mapping[int, tuple[dt.date, dt.date]] = dataclasses.field(default_factory=dict)
    n_by_cohort: Mapping[str, int] = dataclasses.field(default_factory=dict)
    site_count: int | None = None
    blinded_share: float | None = None
    adjudicated_share: float | None = None
    control_covariates: Mapping[int, frozenset[str]] = dataclasses.field(default_factory=dict)
    lot_linked_share: float | None = None
    min_share: float = 0.9

    @classmethod
    def from_mapping(cls, facts: Mapping[str, Any], plan: Plan) -> DataFacts:
        """Build from the ``facts`` dict of :class:`regmed.studydata.StudyData`.

        That dict holds ``cohorts`` (cohort → ``start``, ``end`` ISO dates, ``n``), ``n_sites``
        and ``blinded_share``; cohorts are ``treated`` and ``<kind>_control``. A control's
        period is that of the cohort of its kind (all controls of one kind share it). Other
        keys of this class (``adjudicated_share``, ``lot_linked_share``,
        ``control_covariates`` keyed by control index) are taken when present.
        """
        cohorts: Mapping[str, Any] = facts.get("cohorts") or {}

        def period(entry: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
            return (
                dt.date.fromisoformat(str(entry["start"])[:10]),
                dt.date.fromisoformat(str(entry["end"])[:10]),
            )

        treated = cohorts.get("treated")
        control_periods = {}
        for i, control in enumerate(plan.controls):
            entry = cohorts.get(f"{control.kind}_control") or cohorts.get(control.kind)
            if entry and entry.get("start") and entry.get("end"):
                control_periods[i] = period(entry)
        covariates = facts.get("control_covariates") or {}
        return cls(
            treated_period=period(treated) if treated and treated.get("start") else None,
            control_periods=control_periods,
            n_by_cohort={str(k): int(v["n"]) for k, v in cohorts.items() if "n" in v},
            site_count=facts.get("n_sites"),
            blinded_share=facts.get("blinded_share"),
            adjudicated_share=facts.get("adjudicated_share"),
            control_covariates={int(k): frozenset(v) for k, v in covariates.items()},
            lot_linked_share=facts.get("lot_linked_share"),
        )


@dataclasses.dataclass(frozen=True)
class Checklist(Result):
    """The plan checked against every item and sub-point of the evaluation index.

    Attributes
    ----------
    findings : tuple of Finding
        In index order (items 1–7, then data findings after the plan ones of each item).
    options : dict
        What the check ran with (whether data facts were given, the sample-size source).
    """

    findings: tuple[Finding, ...]
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no finding is ``missing`` or ``not_met``."""
        return not any(f.status in FAILING for f in self.findings)

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that are ``missing`` or ``not_met``."""
        return tuple(f for f in self.findings if f.status in FAILING)

    def counts(self) -> dict[str, int]:
        """Number of findings per status."""
        return {s: sum(f.status == s for f in self.findings) for s in STATUSES}

    def find(self, item: str, point: str | None = None) -> tuple[Finding, ...]:
        """The findings of one item (and point)."""
        return tuple(
            f for f in self.findings if f.item == item and (point is None or f.point == point)
        )

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        """The ``regmed plan check --format json`` document (item, point, status, message,
        reference for each finding)."""
        keys = ("item", "point", "status", "message", "reference")
        return {"findings": [{k: getattr(f, k) for k in keys} for f in self.findings]}

    def frame(self) -> pd.DataFrame:
        """The findings as a table."""
        return pd.DataFrame(
            [f.to_dict() for f in self.findings],
            columns=["item", "point", "status", "message", "reference", "source"],
        )

    def summary(self) -> str:
        c = self.counts()
        title = "Checklist: " + ", ".join(f"{k} {v}" for k, v in c.items())
        return format_table(self.frame(), title=title)
