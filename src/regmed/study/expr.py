"""A small, safe expression language: REDCap's branching logic and calculations.

A hand-written tokenizer and recursive-descent parser turn the text into a tree of frozen
nodes; :func:`evaluate` walks the tree over a mapping of values. Nothing is ever passed to
``eval`` or ``exec``, and names other than ``[variable]``, ``[checkbox(code)]``, ``and``,
``or`` and ``not`` are refused, so ``__import__('os')`` is a parse error, not code.

Grammar (lowest precedence first)::

    expr    := and_ ("or" and_)*
    and_    := not_ ("and" not_)*
    not_    := "not" not_ | compare
    compare := sum (("=" | "==" | "<>" | "!=" | "<" | ">" | "<=" | ">=") sum)?
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | "+" unary | primary
    primary := NUMBER | STRING | "[" name ("(" code ")")? "]" | "(" expr ")"

Strings are quoted with ``'`` or ``"``; ``''`` is the empty value. ``=`` and ``<>`` compare as
numbers when both sides read as numbers, else as text; ``<``, ``>``, ``<=``, ``>=`` are false
when either side is empty. ``[cb(2)]`` is ``'1'`` when code 2 of checkbox ``cb`` is ticked and
``'0'`` otherwise. Arithmetic with an empty or non-numeric value, or a division by zero, gives
an empty result (as REDCap leaves such a calculation blank).

Examples
--------
>>> tree = parse("[sex] = '2' and ([age] >= 18 or [consent(1)] = '1')")
>>> evaluate(tree, {"sex": "2", "age": "17", "consent": {"1"}})
True
>>> evaluate(parse("[weight] / ([height] * [height])", kind="calculation"),
...          {"weight": 70, "height": 2})
17.5
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from regmed.errors import DataError, Problem

__all__ = ["Node", "Num", "Str", "Var", "Unary", "Binary", "parse", "evaluate",
           "references", "ExpressionError", "is_empty"]

Kind = Literal["branching", "calculation"]
_COMPARE = ("=", "==", "<>", "!=", "<", ">", "<=", ">=")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE = re.compile(r"[A-Za-z0-9_.\-]+")
_NUMBER = re.compile(r"\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?")


class ExpressionError(DataError):
    """An expression that cannot be parsed (the problem names the position)."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Var:
    name: str
    code: str | None = None  # the checkbox code of ``[name(code)]``


@dataclass(frozen=True)
class Unary:
    op: str  # "not" or "-"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = Num | Str | Var | Unary | Binary


@dataclass(frozen=True)
class _Token:
    kind: str  # num, str, var, op, word, end
    text: str
    pos: int
    code: str | None = None


def _fail(message: str, pos: int, where: str | None) -> ExpressionError:
    return ExpressionError("the expression cannot be read",
                           [Problem(f"{message} at position {pos + 1}", field=where)])


def _tokens(text: str, where: str | None) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                raise _fail("'[' is not closed by ']'", i, where)
            inner = text[i + 1:end].strip()
            code = None
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\s*(?:\(\s*([^()]*?)\s*\))?", inner)
            if m is None or (m.group(2) is not None and not _CODE.fullmatch(m.group(2))):
                raise _fail(f"not a variable name: [{inner}]", i, where)
            code = m.group(2)
            out.append(_Token("var", m.group(1), i, code))
            i = end + 1
        elif c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                raise _fail("a quoted text is not closed", i, where)
            out.append(_Token("str", text[i + 1:end], i))
            i = end + 1
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            out.append(_Token("num", m.group(0), i))
            i = m.end()
        elif text.startswith(("<>", "<=", ">=", "==", "!="), i):
            out.append(_Token("op", text[i:i + 2], i))
            i += 2
        elif c in "=<>+-*/()":
            out.append(_Token("op", c, i))
            i += 1
        elif c.isalpha() or c == "_":
            m = _WORD.match(text, i)
            word = m.group(0) if m else c
            if word.lower() not in ("and", "or", "not"):
                raise _fail(f"unknown word {word!r} (only [variables], numbers, quoted "
                            "texts, and, or, not)", i, where)
            out.append(_Token("word", word.lower(), i))
            i += len(word)
        else:
            raise _fail(f"unexpected character {c!r}", i, where)
    out.append(_Token("end", "", n))
    return out


class _Parser:
    def __init__(self, text: str, where: str | None) -> None:
        self.tokens = _tokens(text, where)
        self.i = 0
        self.where = where

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def accept(self, kind: str, *texts: str) -> _Token | None:
        t = self.peek()
        if t.kind == kind and (not texts or t.text in texts):
            self.i += 1
            return t
        return None

    def fail(self, message: str, t: _Token | None = None) -> ExpressionError:
        t = t or self.peek()
        return _fail(message, t.pos, self.where)

    def expr(self) -> Node:
        node = self.and_()
        while self.accept("word", "or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("word", "and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("word", "not"):
            return Unary("not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        t = self.accept("op", *_COMPARE)
        if t is not None:
            op = {"==": "=", "!=": "<>"}.get(t.text, t.text)
            node = Binary(op, node, self.sum())
            if self.peek().kind == "op" and self.peek().text in _COMPARE:
                raise self.fail("comparisons cannot be chained; use and")
        return node

    def sum(self) -> Node:
        node = self.term()
        while (t := self.accept("op", "+", "-")) is not None:
            node = Binary(t.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (t := self.accept("op", "*", "/")) is not None:
            node = Binary(t.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("op", "-"):
            return Unary("-", self.unary())
        if self.accept("op", "+"):
            return self.unary()
        return self.primary()

    def primary(self) -> Node:
        t = self.take()
        if t.kind == "num":
            return Num(float(t.text))
        if t.kind == "str":
            return Str(t.text)
        if t.kind == "var":
            return Var(t.text, t.code)
        if t.kind == "op" and t.text == "(":
            node = self.expr()
            if not self.accept("op", ")"):
                raise self.fail("')' expected")
            return node
        if t.kind == "end":
            raise self.fail("the expression ends too early", t)
        raise self.fail(f"unexpected {t.text!r}", t)


def _logical(node: Node) -> bool:
    return (isinstance(node, Unary) and node.op == "not") or (
        isinstance(node, Binary) and node.op in ("and", "or", *_COMPARE))


def _check_kinds(node: Node, kind: Kind, where: str | None) -> None:
    """Branching must be a condition; a calculation only arithmetic; operands fit."""
    if isinstance(node, Unary):
        if node.op == "not" and not _logical(node.operand):
            raise ExpressionError("the expression cannot be read", [Problem(
                "'not' needs a condition (e.g. not [a] = '1')", field=where)])
        if node.op == "-" and _logical(node.operand):
            raise ExpressionError("the expression cannot be read", [Problem(
                "'-' needs a number, not a condition", field=where)])
        _check_kinds(node.operand, kind, where)
    elif isinstance(node, Binary):
        if node.op in ("and", "or"):
            if not (_logical(node.left) and _logical(node.right)):
                raise ExpressionError("the expression cannot be read", [Problem(
                    f"'{node.op}' joins conditions (e.g. [a] = '1' {node.op} [b] > 2)",
                    field=where)])
        elif _logical(node.left) or _logical(node.right):
            raise ExpressionError("the expression cannot be read", [Problem(
                f"'{node.op}' needs values on both sides, not conditions", field=where)])
        _check_kinds(node.left, kind, where)
        _check_kinds(node.right, kind, where)


def parse(text: str, *, kind: Kind = "branching", where: str | None = None) -> Node:
    """Parse a branching condition (``kind="branching"``) or a calculation.

    Parameters
    ----------
    text : str
        The expression in REDCap's syntax.
    kind : {"branching", "calculation"}
        A branching logic must be a condition; a calculation must not be one.
    where : str, optional
        Named as the problem's field (e.g. the variable whose logic this is).

    Raises
    ------
    ExpressionError
        Naming the 1-based character position of the first problem.
    """
    p = _Parser(text, where)
    if p.peek().kind == "end":
        raise p.fail("the expression is empty")
    node = p.expr()
    if p.peek().kind != "end":
        raise p.fail(f"unexpected {p.peek().text!r}")
    _check_kinds(node, kind, where)
    if kind == "branching" and not _logical(node):
        raise ExpressionError("the expression cannot be read", [Problem(
            "a branching logic must be a condition (e.g. [sex] = '2')", field=where)])
    if kind == "calculation" and _logical(node):
        raise ExpressionError("the expression cannot be read", [Problem(
            "a calculation must be arithmetic (+ - * /), not a condition", field=where)])
    return node


def references(node: Node) -> list[Var]:
    """Every ``[variable]`` the expression names, in order."""
    if isinstance(node, Var):
        return [node]
    if isinstance(node, Unary):
        return references(node.operand)
    if isinstance(node, Binary):
        return references(node.left) + references(node.right)
    return []


def is_empty(value: Any) -> bool:
    """None, NaN, blank text or an empty collection."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (set, frozenset, list, tuple)):
        return len(value) == 0
    return False


def _as_text(value: Any) -> str:
    if is_empty(value):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = _as_text(value)
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _value(node: Node, values: Mapping[str, Any]) -> Any:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Var):
        v = values.get(node.name)
        if node.code is not None:
            ticked = v if isinstance(v, (set, frozenset, list, tuple)) else (
                set() if is_empty(v) else {c.strip() for c in str(v).split("|")})
            return "1" if node.code in {_as_text(c) for c in ticked} else "0"
        return v
    if isinstance(node, Unary):
        if node.op == "not":
            return not _value(node.operand, values)
        x = _as_number(_value(node.operand, values))
        return None if x is None else -x
    a = _value(node.left, values)
    if node.op == "and":
        return bool(a) and bool(_value(node.right, values))
    if node.op == "or":
        return bool(a) or bool(_value(node.right, values))
    b = _value(node.right, values)
    if node.op in ("=", "<>"):
        x, y = _as_number(a), _as_number(b)
        same = (x == y) if x is not None and y is not None else _as_text(a) == _as_text(b)
        return same if node.op == "=" else not same
    if node.op in ("<", ">", "<=", ">="):
        x, y = _as_number(a), _as_number(b)
        if x is None or y is None:
            if is_empty(a) or is_empty(b):
                return False
            s, t = _as_text(a), _as_text(b)
            return {"<": s < t, ">": s > t, "<=": s <= t, ">=": s >= t}[node.op]
        return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[node.op]
    x, y = _as_number(a), _as_number(b)
    if x is None or y is None:
        return None
    if node.op == "+":
        return x + y
    if node.op == "-":
        return x - y
    if node.op == "*":
        return x * y
    if y == 0:
        return None
    return x / y


def evaluate(node: Node, values: Mapping[str, Any]) -> Any:
    """The value of a parsed expression: True/False for a condition, a float or None
    (empty) for a calculation. A checkbox's value is a collection of ticked codes (or a
    ``"1|3"`` text)."""
    out = _value(node, values)
    if isinstance(out, bool):
        return out
    return _as_number(out)  # a calculation's value is a number, or empty
