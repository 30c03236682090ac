"""Pydantic schemas of the JSON API (separate from the ORM models)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Id", "Finite", "FiniteRows", "refuse_non_finite", "MEANINGS", "Password",
    "LoginIn", "LoginOut", "Me", "EnrollmentIn", "AssessmentIn", "AssessmentChange",
    "AdverseEventIn", "FollowUpIn", "AssignIn", "VerdictIn", "UserIn", "Problems",
    "AdministrationIn", "SignatureIn", "UnlockIn", "QueryIn", "QueryAnswer", "PasswordChange",
    "OtpIn", "VerifyIn",
]


#: A record id in a path (a 32-bit positive integer, as the database stores it).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


def refuse_non_finite(value: Any, path: str = "") -> Any:
    """``value`` unchanged, or ValueError naming the key path of a NaN or an infinity anywhere
    in it (JSON allows ``1e999`` and ``NaN`` to reach Python as non-finite floats)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path or 'value'}: not a finite number (NaN or infinity)")
    if isinstance(value, dict):
        for k, v in value.items():
            refuse_non_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            refuse_non_finite(v, f"{path}[{i}]")
    return value


#: A finite float (NaN and infinities are refused with 422).
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: Rows of a table import (any values, but no NaN or infinity anywhere).
FiniteRows = Annotated[list[dict[str, Any]], AfterValidator(refuse_non_finite)]
#: A password as typed (the policy is checked where it is set, with every problem).
Password = Annotated[str, Field(min_length=1, max_length=256)]
#: Meanings of an electronic signature (21 CFR 11.50(a)(3)).
MEANINGS = ("authored", "reviewed", "approved")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        return refuse_non_finite(data)


class LoginIn(_In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    otp: str | None = Field(default=None, max_length=16)


class LoginOut(BaseModel):
    username: str
    role: str
    csrf_token: str


class Me(BaseModel):
    username: str
    role: str
    site_code: str | None


class EnrollmentIn(_In):
    patient_ref: str = Field(min_length=1, max_length=128)
    sex: Literal["F", "M"]
    birth_year: int = Field(ge=1900, le=2100)
    indication_code: str = Field(max_length=64)
    cohort: Literal["treated", "concurrent_control", "external_control", "historical_control"]
    direction: Literal["prospective", "retrospective"]
    source: str | None = Field(default=None, max_length=255)
    index_on: dt.date
    enrolled_on: dt.date


class AssessmentIn(_In):
    endpoint: str = Field(min_length=1, max_length=64)
    visit: str = Field(min_length=1, max_length=64)
    assessed_on: dt.date
    value: Finite | None = None
    value_text: str | None = Field(default=None, max_length=255)
    assessor: str = Field(min_length=1, max_length=128)
    assessor_role: Literal["treating_physician", "blinded_independent", "blinded_central"]
    blinded: bool


class AssessmentChange(_In):
    changes: dict[str, Any]
    reason: str = Field(min_length=1, max_length=2000)


class AdverseEventIn(_In):
    ae_ref: str | None = Field(default=None, max_length=128)
    term: str = Field(min_length=1, max_length=255)
    onset_on: dt.date
    serious: bool
    grade: int | None = Field(default=None, ge=1, le=5)
    related: Literal["related", "possibly_related", "not_related", "unknown"] | None = None
    outcome: (
        Literal["recovered", "recovering", "not_recovered", "sequelae", "fatal", "unknown"]
        | None
    ) = None


class FollowUpIn(_In):
    last_contact_on: dt.date
    status: Literal["alive", "dead", "lost"]
    death_on: dt.date | None = None
    death_cause: str | None = Field(default=None, max_length=255)
    reason: str | None = Field(default=None, max_length=2000)


class AssignIn(_In):
    reviewers: list[str] = Field(min_length=1, max_length=20)
    kind: Literal["review", "consensus"] = "review"


class VerdictIn(_In):
    value: Finite | None = None
    value_text: str | None = Field(default=None, max_length=255)
    reason: Literal["source_clear", "source_borderline", "source_incomplete", "re_review",
                    "majority", "source_reviewed", "committee_discussion",
                    "protocol_rule"] | None = None


class UserIn(_In):
    username: str = Field(min_length=1, max_length=64)
    role: Literal["admin", "statistician", "investigator", "adjudicator", "regulator",
                  "monitor"]
    site_code: str | None = Field(default=None, max_length=64)
    password: Password
    full_name: str | None = Field(default=None, max_length=255)


class Problems(BaseModel):
    detail: str
    problems: list[dict[str, Any]] = []


class SignatureIn(_In):
    password: str = Field(max_length=256)
    meaning: Literal["authored", "reviewed", "approved"]
    otp: str | None = Field(default=None, max_length=16)


class PasswordChange(_In):
    current_password: str = Field(max_length=256)
    new_password: Password


class OtpIn(_In):
    otp: str = Field(min_length=1, max_length=16)


class VerifyIn(_In):
    fields: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=50)


class UnlockIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class QueryIn(_In):
    table: Literal["assessments", "adverse_events", "follow_ups", "enrollments"]
    record_id: int = Field(ge=1, le=2_147_483_647)
    field: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=2000)


class QueryAnswer(_In):
    answer: str = Field(min_length=1, max_length=2000)


class AdministrationIn(_In):
    lot_code: str = Field(min_length=1, max_length=64)
    administered_on: dt.date
    dose: Finite = Field(ge=0)
    dose_unit: str = Field(min_length=1, max_length=64)
    route: Literal["intravenous", "intrathecal", "intracerebral", "epicardial", "intramuscular",
                   "topical", "other"]
    surgery: bool | None = None
    oos_request_documented: bool | None = None
