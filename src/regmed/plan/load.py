"""Reading a plan from YAML: one :class:`~regmed.errors.PlanError` listing every problem.

YAML syntax errors give line and column; type and key errors give the key path in the form
``controls[1].period.start: not a date``; cross-references (an achievement criterion naming an
unknown endpoint, a period that ends before it starts) are checked after the types.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from regmed.errors import PlanError, Problem
from regmed.plan.model import Plan

__all__ = ["load_plan", "plan_to_yaml", "key_path"]

#: Keys whose value is a union tagged by ``method``: Pydantic puts the tag into the location.
_TAGGED = {"sample_size": ("rates", "means", "survival", "single_arm")}


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (Pydantic parses them) and refuses duplicate keys."""


# Drop the timestamp resolver: ``2026-13-01`` must become "not a date", not a crash.
_PlanLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _PlanLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain word", key_node.start_mark
            )
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen[key] = key_node
    return loader.construct_mapping(node)


_PlanLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def key_path(loc: Iterable[int | str]) -> str:
    """Turn a Pydantic location tuple into ``controls[1].period.start``.

    Examples
    --------
    >>> key_path(("controls", 1, "period", "start"))
    'controls[1].period.start'
    >>> key_path(("sample_size", "rates", "assumptions", "alpha"))
    'sample_size.assumptions.alpha'
    """
    parts: list[str] = []
    items = list(loc)
    for i, part in enumerate(items):
        if isinstance(part, int):
            parts.append(f"[{part}]")
            continue
        prev = items[i - 1] if i > 0 else None
        if isinstance(prev, str) and part in _TAGGED.get(prev, ()):
            continue  # discriminated-union tag, not a key the user wrote
        if part.startswith("function-") or part in ("str", "int", "float", "bool"):
            continue
        parts.append(("." if parts else "") + part)
    return "".join(parts) or "(top level)"


def _model_for(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that holds the last key of ``loc`` (to suggest known keys)."""
    from regmed.plan import model as m

    tagged: dict[str, type[BaseModel]] = {
        "rates": m.RatesSampleSize,
        "means": m.MeansSampleSize,
        "survival": m.SurvivalSampleSize,
        "single_arm": m.SingleArmSampleSize,
    }
    cls: type[BaseModel] | None = Plan
    prev: int | str | None = None
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if prev == "sample_size" and part in tagged:
            cls = tagged[part]
        else:
            field = cls.model_fields.get(part) if cls is not None else None
            if field is None:
                return None
            cls = _inner_model(field.annotation)
        prev = part
    return cls


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_TYPE_WORDS = {
    "date_from_datetime_parsing": "not a date (write YYYY-MM-DD)",
    "date_parsing": "not a date (write YYYY-MM-DD)",
    "date_type": "not a date (write YYYY-MM-DD)",
    "date_from_datetime_inexact": "not a date (write YYYY-MM-DD)",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "int_parsing": "not a whole number",
    "int_type": "not a whole number",
    "int_from_float": "not a whole number",
    "bool_parsing": "not true or false",
    "bool_type": "not true or false",
    "string_type": "not text (put it in quotes)",
    "list_type": "not a list",
    "dict_type": "not a mapping of keys",
    "model_type": "not a mapping of keys",
    "model_attributes_type": "not a mapping of keys",
    "missing": "required key is missing",
    "string_too_short": "must not be empty",
    "finite_number": "must be a finite number",
}


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "extra_forbidden":
        loc = tuple(err["loc"])
        cls = _model_for(loc)
        hint = ""
        if cls is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(cls.model_fields), n=1)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            else:
                hint = "; known keys: " + ", ".join(cls.model_fields)
        return f"unknown key{hint}"
    if kind in _TYPE_WORDS:
        text = _TYPE_WORDS[kind]
        return text if kind == "missing" else f"{text}, got {got!r}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, got {got!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = ctx.get("expected_tags", "")
        return f"method must be one of {expected}" + (
            f", got {ctx.get('tag')!r}" if kind == "union_tag_invalid" else " (missing)"
        )
    bounds = {
        "greater_than": ("greater than", "gt"),
        "greater_than_equal": ("at least", "ge"),
        "less_than": ("less than", "lt"),
        "less_than_equal": ("at most", "le"),
    }
    if kind in bounds:
        word, key = bounds[kind]
        return f"must be {word} {ctx.get(key)}, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"must be a plain identifier (letters, digits, _), got {got!r}"
    msg = str(err.get("msg", kind))
    return re.sub(r"^Value error, ", "", msg)


def _validation_problems(exc: ValidationError, file: str | None) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        problems.append(Problem(_message(err), file=file, field=key_path(loc)))
    return problems


def _cross_problems(plan: Plan, file: str | None) -> list[Problem]:
    """References and orders that the types alone cannot check."""
    out: list[Problem] = []

    def add(field: str, message: str) -> None:
        out.append(Problem(message, file=file, field=field))

    ids = [e.id for e in plan.endpoints]
    known = set(ids)
    if not plan.endpoints:
        add("endpoints", "at least one endpoint is needed")
    for i, eid in enumerate(ids):
        if eid in ids[:i]:
            add(f"endpoints[{i}].id", f"duplicate endpoint id {eid!r}")

    def ref(field: str, eid: str | None) -> None:
        if eid is not None and eid not in known:
            close = difflib.get_close_matches(eid, ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            add(field, f"unknown endpoint {eid!r}{hint}")

    for i, crit in enumerate(plan.achievement_criteria):
        ref(f"achievement_criteria[{i}].endpoint", crit.endpoint)
    if plan.sample_size is not None:
        ref("sample_size.endpoint", plan.sample_size.endpoint)
    for i, sub in enumerate(plan.subgroup_analyses):
        ref(f"subgroup_analyses[{i}].endpoint", sub.endpoint)
    for i, sens in enumerate(plan.sensitivity_analyses):
        ref(f"sensitivity_analyses[{i}].endpoint", sens.endpoint)
    for i, q in enumerate(plan.quality_efficacy_analyses):
        ref(f"quality_efficacy_analyses[{i}].endpoint", q.endpoint)

    for i, e in enumerate(plan.endpoints):
        m = e.measurement
        if m is None:
            continue
        here = f"endpoints[{i}].measurement"
        if m.derivation == "change_at_least" and m.threshold is None:
            add(f"{here}.threshold", "required when derivation is change_at_least")
        if m.derivation in ("change", "change_at_least", "ais_improvement") and (
            m.baseline_visit is None
        ):
            add(f"{here}.baseline_visit", f"required when derivation is {m.derivation}")
        if m.derivation != "time_to_death" and m.outcome_visit is None:
            add(f"{here}.outcome_visit", f"required when derivation is {m.derivation}")
        if m.baseline_visit and m.outcome_visit and m.outcome_visit.day <= m.baseline_visit.day:
            add(f"{here}.outcome_visit.day", "must come after the baseline visit")

    periods = [("treated_period", plan.treated_period)]
    periods += [(f"controls[{i}].period", c.period) for i, c in enumerate(plan.controls)]
    for field, period in periods:
        if period is not None and period.end < period.start:
            add(f"{field}.end", f"{period.end} is before the start {period.start}")

    for i, c in enumerate(plan.controls):
        if c.kind == "historical" and c.direction != "retrospective":
            add(f"controls[{i}].direction", "a historical control is retrospective")

    if plan.sample_size is not None and plan.sample_size.method == "survival":
        a = plan.sample_size.assumptions
        if (getattr(a, "median_control", None) is None) == (
            getattr(a, "lambda_control", None) is None
        ):
            add("sample_size.assumptions", "give either median_control or lambda_control")

    if plan.sample_size is not None and plan.sample_size.interim is not None:
        rates = plan.sample_size.interim.information_rates
        if any(b <= a for a, b in zip(rates, rates[1:], strict=False)):
            add("sample_size.interim.information_rates", "must increase strictly")
        if rates and rates[-1] != 1.0:
            add("sample_size.interim.information_rates", "the last rate must be 1.0")
    return out


def load_plan(source: str | Path, *, file: str | None = None) -> Plan:
    """Load and validate an evaluation plan.

    Parameters
    ----------
    source : str or pathlib.Path
        A path to a YAML file, or the YAML text itself. A ``str`` that names an existing
        file and has no newline is read as a path.
    file : str, optional
        The name to show in problems (defaults to the path, or ``None`` for text).

    Returns
    -------
    Plan
        The validated plan; ``plan.source_text`` keeps the exact text (for the lock hash).

    Raises
    ------
    PlanError
        One error listing every problem: YAML syntax (with line and column), unknown keys,
        wrong types and unknown references, each with its key path.

    Examples
    --------
    >>> from regmed.plan import load_plan
    >>> load_plan("product: {name: X, type: autologous}\\nindication: Y\\nendpoints: []")
    Traceback (most recent call last):
    ...
    regmed.errors.PlanError: The evaluation plan is not valid (1 problem):
      - endpoints: at least one endpoint is needed
    """
    text, file = _read(source, file)
    try:
        data = yaml.load(text, Loader=_PlanLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        what = exc.problem or exc.context or "YAML syntax error"
        raise PlanError(
            "The evaluation plan is not valid YAML",
            [Problem(f"{where}: {what}", file=file)],
        ) from None
    except yaml.YAMLError as exc:
        raise PlanError(
            "The evaluation plan is not valid YAML", [Problem(str(exc), file=file)]
        ) from None
    if not isinstance(data, dict):
        raise PlanError(
            "The evaluation plan is not valid",
            [Problem("the plan must be a mapping of keys (key: value)", file=file)],
        )
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(
            "The evaluation plan is not valid", _validation_problems(exc, file)
        ) from None
    problems = _cross_problems(plan, file)
    if problems:
        raise PlanError("The evaluation plan is not valid", problems)
    plan._source_text = text
    return plan


def _read(source: str | Path, file: str | None) -> tuple[str, str | None]:
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PlanError(f"Cannot read the plan file {path}: {exc.strerror}") from None
        try:
            return raw.decode("utf-8"), file or str(path)
        except UnicodeDecodeError as exc:
            raise PlanError(
                "The evaluation plan is not valid",
                [Problem(f"not UTF-8 text (byte {exc.start})", file=file or str(path))],
            ) from None
    if "\n" not in source and source.strip().endswith((".yaml", ".yml")):
        raise PlanError(f"Cannot read the plan file {source}: no such file")
    return source, file


def plan_to_yaml(plan: Plan) -> str:
    """Write a plan as canonical YAML (keys in model order, defaults included, dates ISO).

    This is also the canonical text of a plan that was built in code (see
    :func:`regmed.plan.plan_sha256`).
    """
    data = plan.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
