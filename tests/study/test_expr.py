"""The branching/calculation language: precedence, checkbox syntax, empties, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regmed.study import ExpressionError, evaluate, parse, references
from regmed.study.expr import Binary, Var


def ev(text: str, values: dict, kind: str = "branching"):  # type: ignore[no-untyped-def]
    return evaluate(parse(text, kind=kind), values)  # type: ignore[arg-type]


def test_and_binds_tighter_than_or() -> None:
    tree = parse("[a] = '1' or [b] = '1' and [c] = '1'")
    assert isinstance(tree, Binary) and tree.op == "or"
    assert isinstance(tree.right, Binary) and tree.right.op == "and"
    assert ev("[a] = '1' or [b] = '1' and [c] = '1'", {"a": "1", "b": "0", "c": "0"}) is True
    assert ev("([a] = '1' or [b] = '1') and [c] = '1'", {"a": "1", "b": "0", "c": "0"}) is False


def test_not_and_arithmetic_precedence() -> None:
    assert ev("not [a] = '1' and [b] = '1'", {"a": "2", "b": "1"}) is True
    assert ev("not ([a] = '1' or [b] = '1')", {"a": "2", "b": "1"}) is False
    assert ev("1 + 2 * 3", {}, "calculation") == 7.0
    assert ev("(1 + 2) * 3", {}, "calculation") == 9.0
    assert ev("10 - 4 - 3", {}, "calculation") == 3.0  # left-associative
    assert ev("-[x] * 2", {"x": "3"}, "calculation") == -6.0
    assert ev("[x] * 2 + 1 > 6", {"x": "3"}) is True


def test_comparisons_numbers_text_and_empty() -> None:
    assert ev("[age] >= 18", {"age": "18"}) is True
    assert ev("[age] >= 18", {"age": "9"}) is False
    assert ev("[age] < 18", {"age": ""}) is False  # empty never compares as a number
    assert ev("[age] = ''", {}) is True
    assert ev("[age] <> ''", {"age": 0}) is True
    assert ev("[x] = '1'", {"x": 1.0}) is True  # 1.0 and '1' are the same number
    assert ev("[x] = 'A'", {"x": "A"}) is True and ev("[x] != 'A'", {"x": "B"}) is True
    assert ev("[x] == \"B\"", {"x": "B"}) is True


def test_checkbox_syntax() -> None:
    tree = parse("[cb(2)] = '1'")
    assert references(tree) == [Var("cb", "2")]
    assert ev("[cb(2)] = '1'", {"cb": {"1", "2"}}) is True
    assert ev("[cb(3)] = '1'", {"cb": {"1", "2"}}) is False
    assert ev("[cb(3)] = '0'", {"cb": "1|2"}) is True
    assert ev("[cb(1)] = '1'", {}) is False


def test_calculation_blank_when_missing_or_division_by_zero() -> None:
    assert ev("[w] / ([h] * [h])", {"w": 70, "h": 2}, "calculation") == 17.5
    assert ev("[w] / ([h] * [h])", {"w": 70}, "calculation") is None
    assert ev("[w] / [h]", {"w": 70, "h": 0}, "calculation") is None
    assert ev("[w] + 1", {"w": "abc"}, "calculation") is None


@pytest.mark.parametrize("text, where", [
    ("__import__('os').system('echo hi')", "position 1"),
    ("[a] = '1' or exec('x')", "position 14"),
    ("[a] = '1'; [b] = '2'", "position 10"),
    ("[a].__class__ = '1'", "position 4"),
    ("[a] = = '1'", "position 7"),
    ("[a] = '1", "position 7"),
    ("[a = '1'", "position 1"),
    ("([a] = '1'", "position 11"),
    ("", "position 1"),
    ("lambda: 1", "position 1"),
    ("[a] < [b] < [c]", "position 11"),
])
def test_refused_with_position(text: str, where: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text, where="ae_term.branching")
    problem = info.value.problems[0]
    assert where in problem.message and problem.field == "ae_term.branching"


def test_kinds_are_checked() -> None:
    with pytest.raises(ExpressionError, match="cannot be read"):
        parse("[a] + 1")  # a branching logic must be a condition
    with pytest.raises(ExpressionError):
        parse("[a] = 1", kind="calculation")
    with pytest.raises(ExpressionError):
        parse("[a] and [b] = '1'")  # and joins conditions
    with pytest.raises(ExpressionError):
        parse("([a] = '1') + 1 = 2")


def test_no_eval_in_the_module() -> None:
    import inspect

    import regmed.study.expr as expr

    source = inspect.getsource(expr)
    code_lines = [ln for ln in source.splitlines() if not ln.strip().startswith(("#", '"'))]
    body = "\n".join(code_lines).split('"""', 2)[-1]
    assert "eval(" not in body.replace("evaluate(", "") and "exec(" not in body


_PIECES = ["[a]", "[b]", "[cb(1)]", "'1'", "''", "2", "3.5", "=", "<>", "<", ">=", "and",
           "or", "not", "(", ")", "+", "-", "*", "/", "__import__", "[", "]", "'", ";", "."]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from(["branching",
                                                                         "calculation"]))
def test_any_input_parses_or_is_refused_cleanly(pieces: list[str], kind: str) -> None:
    text = " ".join(pieces)
    try:
        tree = parse(text, kind=kind)  # type: ignore[arg-type]
    except ExpressionError as exc:
        (problem,) = exc.problems
        assert problem.message and "Traceback" not in problem.message
        return
    result = evaluate(tree, {"a": "1", "b": "", "cb": {"1"}})
    if kind == "branching":
        assert isinstance(result, bool)
    else:
        assert result is None or isinstance(result, float)
