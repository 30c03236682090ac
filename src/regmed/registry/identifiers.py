"""Identifiers as a data manager expects them: NFKC-normalized, case as the dictionary says.

The column dictionary (``dictionary.yaml``, block ``identifiers``) names the identifier
columns. On every path — the importer, the web's forms (:func:`regmed.registry.save_row`,
enrollment) and the services — their values are normalized with Unicode NFKC and stripped, so
that a full-width ``Ｐ００１`` (typed with a Japanese input method) is ``P001``. ``patient_ref``
is case-insensitive: it is folded to upper case before it is pseudonymized
(:func:`regmed.registry.pseudonymize`), so ``p001`` and ``P001`` name the same patient. Every
other identifier keeps its letter case, and the importer refuses a new one that differs from a
stored or another new one only in letter case (a near-duplicate such as ``lot-01`` beside
``LOT-01``), naming the stored spelling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, MutableMapping
from typing import Any

import pandas as pd

from regmed.errors import Problem
from regmed.registry.dictionary import load_dictionary

__all__ = ["normalize_identifier", "normalize_values", "normalize_frame",
           "near_duplicate_problems"]


def normalize_identifier(value: Any, column: str) -> Any:
    """The normalized form of one identifier (non-strings are returned as they are).

    Examples
    --------
    >>> [normalize_identifier(v, "patient_ref") for v in ("Ｐ００１ ", "ｐ００１", "p001")]
    ['P001', 'P001', 'P001']
    >>> normalize_identifier("Ｌｏｔ-1", "lot_code")
    'Lot-1'
    """
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    if column in load_dictionary().case_insensitive:
        text = text.upper()
    return text


def normalize_values(values: MutableMapping[str, Any]) -> None:
    """Normalize the identifier columns of one row (a dict), in place."""
    for c in load_dictionary().identifiers:
        if c in values:
            values[c] = normalize_identifier(values[c], c)


def normalize_frame(frame: pd.DataFrame) -> None:
    """Normalize the identifier columns of a parsed table, in place (an ASCII value without
    surrounding spaces is NFKC-stable and kept as it is: a million rows take a moment)."""
    d = load_dictionary()
    for c in d.identifiers:
        if c not in frame:
            continue
        col = frame[c]
        values = col.tolist()
        fold = c in d.case_insensitive
        out = [v if type(v) is not str or (v.isascii() and v == v.strip()
                                           and not (fold and v != v.upper()))
               else normalize_identifier(v, c) for v in values]
        if out != values:
            frame[c] = pd.Series(out, index=col.index, dtype=object)


def _fold(key: tuple[Any, ...], cols: list[str], ids: Iterable[str]) -> tuple[Any, ...]:
    wanted = set(ids)
    return tuple(v.casefold() if c in wanted and isinstance(v, str) else v
                 for c, v in zip(cols, key, strict=True))


def near_duplicate_problems(file: str, frame: pd.DataFrame, new: pd.Series,
                            existing: pd.DataFrame, key: list[str]) -> list[Problem]:
    """New rows whose key differs from a stored or an earlier new key only in letter case."""
    ids = [c for c in key if c in load_dictionary().identifiers
           and c not in load_dictionary().case_insensitive]
    if not ids or not bool(new.any()):
        return []
    keys = pd.concat([existing[key], frame.loc[new.to_numpy(), key]], ignore_index=True)
    folded = keys.copy()
    for c in ids:
        folded[c] = keys[c].map(lambda v: v.casefold() if isinstance(v, str) else v)
    if len(folded.drop_duplicates()) == len(keys.drop_duplicates()):
        return []  # no two keys differ only in letter case
    known: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for k in existing[key].itertuples(index=False, name=None) if len(existing) else ():
        known.setdefault(_fold(k, key, ids), k)
    problems = []
    rows = frame[key][new.to_numpy()]
    for pos, k in zip(rows.index, rows.itertuples(index=False, name=None), strict=True):
        folded = _fold(k, key, ids)
        seen = known.setdefault(folded, k)
        if seen != k:
            col = next(c for c, a, b in zip(key, k, seen, strict=True) if a != b)
            stored = dict(zip(key, seen, strict=True))[col]
            problems.append(Problem(
                f"differs from {stored!r} only in letter case (a near-duplicate; codes are "
                f"case-sensitive): use {stored!r}", file=file,
                row=int(frame.index.get_loc(pos)) + 1, field=col))
    return problems
