"""A request the API's schemas refuse, in the request's language.

FastAPI answers a body or parameter that does not fit its schema with pydantic's own English
sentences (``Input should be a valid integer, unable to parse string as an integer``). The
answer keeps them (``detail``, as FastAPI gives it, without the input values) and adds, like a
refused registry write, a ``problems`` list: the field's key path, pydantic's message and a
``text`` in plain words of the request's language, from the catalogue by pydantic's error type
(https://docs.pydantic.dev/latest/errors/validation_errors/).
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from regmed.web.i18n import Translator

__all__ = ["validation_answer", "TYPE_MESSAGES"]

#: Message ids of the catalogue by pydantic's error type (``%(x)s`` from the error's context).
TYPE_MESSAGES: dict[str, str] = {
    "missing": "required value is missing",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "int_type": "not a whole number",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "finite_number": "not a finite number",
    "bool_parsing": "not a boolean (yes or no)",
    "bool_type": "not a boolean (yes or no)",
    "date_parsing": "not a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "not a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "not a date (YYYY-MM-DD)",
    "date_type": "not a date (YYYY-MM-DD)",
    "string_type": "not a text",
    "string_too_short": "shorter than %(n)s characters",
    "string_too_long": "longer than %(n)s characters",
    "string_pattern_mismatch": "not in the expected form",
    "too_short": "fewer than %(n)s items",
    "too_long": "more than %(n)s items",
    "greater_than": "must be greater than %(gt)s",
    "greater_than_equal": "below the minimum %(n)s",
    "less_than": "must be less than %(lt)s",
    "less_than_equal": "above the maximum %(n)s",
    "literal_error": "not one of %(values)s",
    "enum": "not one of %(values)s",
    "extra_forbidden": "not a field of this request",
    "json_invalid": "the request is not valid JSON",
    "model_attributes_type": "not an object of fields",
    "model_type": "not an object of fields",
    "dict_type": "not an object of fields",
    "list_type": "not a list",
}


def _field(loc: tuple[Any, ...]) -> str:
    """The key path of an error without its place (``body``, ``query``, …)."""
    parts = [str(x) for x in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts)


def _context(error: dict[str, Any]) -> dict[str, Any]:
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    for key in ("ge", "le", "min_length", "max_length"):
        if key in ctx:
            ctx["n"] = ctx[key]
    if "expected" in ctx:
        ctx["values"] = ctx["expected"]
    return ctx


def _text(error: dict[str, Any], t: Translator) -> str:
    msgid = TYPE_MESSAGES.get(str(error.get("type", "")))
    if msgid is None:
        return t("not a valid value")
    try:
        return t(msgid, **_context(error))
    except (KeyError, ValueError):
        return t("not a valid value")


def validation_answer(exc: RequestValidationError, t: Translator) -> dict[str, Any]:
    """The JSON answer to a request the schemas refuse: ``detail`` (FastAPI's list, without
    the input values — an infinity there would break the JSON answer, a password would be
    echoed) and ``problems`` (``field``, ``message``, ``text`` in the translator's language).

    Examples
    --------
    >>> from regmed.web.i18n import Translator, load_catalogues
    >>> ja = Translator("ja", "western", load_catalogues()["ja"])
    >>> exc = RequestValidationError([{"type": "missing", "loc": ("body", "term"),
    ...                                "msg": "Field required"}])
    >>> validation_answer(exc, ja)["problems"]
    [{'field': 'term', 'message': 'Field required', 'text': '入力してください'}]
    """
    errors = list(exc.errors())
    detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in errors]
    problems = [{"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", "")),
                 "text": _text(e, t)} for e in errors]
    return {"detail": detail, "problems": problems}
