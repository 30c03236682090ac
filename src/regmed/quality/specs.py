"""Specifications and release: which lots are out of specification (OOS), and who got them."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from regmed.errors import DataError, Problem
from regmed.quality._common import require_columns
from regmed.results import Result, format_table

__all__ = ["SpecCheck", "check_specs"]


@dataclasses.dataclass(frozen=True)
class SpecCheck(Result):
    """Lot results checked against the attributes' specifications.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per result: ``lot, attribute, value, value_text, lower, upper, category, unit,
        oos``. For a numeric specification ``oos`` is True when the value lies outside
        ``[lower, upper]`` (limits are inclusive and a missing limit is open); for a category
        specification (``category``, e.g. ``negative``) when ``value_text`` is not one of the
        accepted categories.
    lots : pandas.DataFrame
        One row per lot: ``lot, n_attributes, n_oos, oos, failed`` (failed attribute codes,
        comma-separated) and, when a ``lots`` table was given, ``status`` and
        ``status_consistent`` (an OOS lot must be ``rejected``, ``quarantined`` or
        ``released_oos``; a lot within specification must not be ``released_oos``).
    oos_lots : list of str
        The OOS lot codes.
    exposures : pandas.DataFrame
        When ``administrations`` were given: one row per administration of an OOS lot,
        ``site_code, patient_ref, lot, oos_request_documented, flagged`` (``flagged`` is True
        when no out-of-specification supply request is on file).
    warnings : list of str
    options : dict
    """

    results: pd.DataFrame
    lots: pd.DataFrame
    oos_lots: list[str]
    exposures: pd.DataFrame
    warnings: list[str]
    options: dict[str, Any]

    def summary(self) -> str:
        head = (f"Specification check: {len(self.oos_lots)} of {len(self.lots)} lots out of "
                f"specification")
        failed = self.results[self.results["oos"]]
        text = format_table(failed, title=head) if len(failed) else head
        if len(self.exposures):
            text += "\n" + format_table(self.exposures, title="Administrations of OOS lots")
        return text


def check_specs(
    lot_results: pd.DataFrame,
    attributes: pd.DataFrame,
    *,
    lots: pd.DataFrame | None = None,
    administrations: pd.DataFrame | None = None,
) -> SpecCheck:
    """Flag lots whose results fall outside the attributes' specification limits.

    Parameters
    ----------
    lot_results : pandas.DataFrame
        The registry's ``lot_results`` table: ``lot_code, attribute_code, value, unit`` and
        optional ``value_text`` (the result of a category test such as sterility).
    attributes : pandas.DataFrame
        The registry's ``quality_attributes`` table: ``attribute_code, unit`` and optional
        ``lower_spec``, ``upper_spec`` (inclusive limits; missing means open) and
        ``spec_category`` (accepted categories of a category test, ``|``-separated, e.g.
        ``negative`` or ``conforms``; compared without regard to case or surrounding space).
    lots : pandas.DataFrame, optional
        The ``lots`` table (``lot_code, status``) to check the release status against the
        results.
    administrations : pandas.DataFrame, optional
        The ``administrations`` table (``site_code, patient_ref, lot_code`` and optional
        ``oos_request_documented``): administrations of OOS lots are listed and flagged
        unless an out-of-specification supply request is documented.

    Returns
    -------
    SpecCheck

    Raises
    ------
    DataError
        Missing columns, results for unknown attributes, or units that differ from the
        attribute's unit (all problems together).

    References
    ----------
    .. [1] ICH Q6B (1999). Specifications: test procedures and acceptance criteria for
       biotechnological/biological products.
    .. [2] Japan MHLW (2014). Act on the Safety of Regenerative Medicine / PMD Act, provisions
       on supply of out-of-specification products on request (see the industry proposals).

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"lot_code": ["L1", "L2"], "attribute_code": ["via", "via"],
    ...                     "value": [92.0, 61.0], "unit": ["%", "%"]})
    >>> att = pd.DataFrame({"attribute_code": ["via"], "unit": ["%"], "lower_spec": [70.0]})
    >>> check_specs(res, att).oos_lots
    ['L2']
    """
    require_columns(lot_results, ["lot_code", "attribute_code", "value"], "lot_results")
    require_columns(attributes, ["attribute_code"], "quality_attributes")
    att = attributes.copy()
    for col in ("lower_spec", "upper_spec"):
        att[col] = pd.to_numeric(att[col], errors="coerce") if col in att else np.nan
    if "spec_category" not in att:
        att["spec_category"] = None
    att["spec_category"] = att["spec_category"].map(_categories)
    if "unit" not in att:
        att["unit"] = None
    if att["attribute_code"].duplicated().any():
        dups = att.loc[att["attribute_code"].duplicated(), "attribute_code"].unique()
        raise DataError("quality_attributes lists an attribute more than once",
                        [Problem(f"attribute {a!r} is duplicated", file="quality_attributes",
                                 field="attribute_code") for a in dups])
    spec = att.set_index("attribute_code")
    problems: list[Problem] = []
    if "value_text" not in lot_results:
        lot_results = lot_results.assign(value_text=None)
    for i, row in enumerate(lot_results.itertuples(index=False), start=1):
        code = row.attribute_code
        if code not in spec.index:
            problems.append(Problem(f"unknown attribute {code!r}", file="lot_results", row=i,
                                    field="attribute_code"))
            continue
        unit = getattr(row, "unit", None)
        want = spec.at[code, "unit"]
        if unit is not None and want is not None and not pd.isna(want) and unit != want:
            problems.append(Problem(f"unit {unit!r} differs from the attribute's unit {want!r}",
                                    file="lot_results", row=i, field="unit"))
        if spec.at[code, "spec_category"] is not None:
            if _blank(row.value_text):
                problems.append(Problem(
                    f"attribute {code!r} has a category specification; value_text is missing",
                    file="lot_results", row=i, field="value_text"))
        elif _blank(row.value):
            problems.append(Problem("value is missing", file="lot_results", row=i, field="value"))
    if problems:
        raise DataError("Lot results do not match the quality attributes", problems)

    value = pd.to_numeric(lot_results["value"], errors="coerce").astype(float).to_numpy()
    codes = lot_results["attribute_code"].to_numpy()
    lower = spec["lower_spec"].reindex(codes).to_numpy(dtype=float)
    upper = spec["upper_spec"].reindex(codes).to_numpy(dtype=float)
    accepted = spec["spec_category"].reindex(codes).to_numpy()
    text = lot_results["value_text"].to_numpy()
    is_cat = np.array([a is not None for a in accepted], dtype=bool)
    with np.errstate(invalid="ignore"):
        num_oos = (~np.isnan(lower) & (value < lower)) | (~np.isnan(upper) & (value > upper))
    cat_oos = np.array([a is not None and _norm(t) not in a for a, t in zip(accepted, text,
                                                                               strict=True)])
    oos = np.where(is_cat, cat_oos, num_oos)
    unit_col = (lot_results["unit"].to_numpy() if "unit" in lot_results
                else spec["unit"].reindex(codes).to_numpy())
    results = pd.DataFrame({
        "lot": lot_results["lot_code"].astype(str).to_numpy(), "attribute": codes,
        "value": value, "value_text": [None if _blank(t) else str(t) for t in text],
        "lower": lower, "upper": upper,
        "category": ["|".join(a) if a is not None else None for a in accepted],
        "unit": unit_col, "oos": oos,
    })
    per_lot = (results.groupby("lot", sort=True)
               .agg(n_attributes=("attribute", "size"), n_oos=("oos", "sum"))
               .reset_index())
    per_lot["n_oos"] = per_lot["n_oos"].astype(int)
    per_lot["oos"] = per_lot["n_oos"] > 0
    failed = results[results["oos"]].groupby("lot")["attribute"].apply(
        lambda s: ",".join(sorted(s)))
    per_lot["failed"] = per_lot["lot"].map(failed).fillna("")
    oos_lots = per_lot.loc[per_lot["oos"], "lot"].tolist()
    warnings: list[str] = []

    if lots is not None:
        require_columns(lots, ["lot_code", "status"], "lots")
        status = lots.assign(lot_code=lots["lot_code"].astype(str)).set_index("lot_code")[
            "status"]
        per_lot["status"] = per_lot["lot"].map(status)
        ok_oos = per_lot["status"].isin(["rejected", "quarantined", "released_oos"])
        consistent = np.where(per_lot["oos"], ok_oos, per_lot["status"] != "released_oos")
        per_lot["status_consistent"] = consistent & per_lot["status"].notna()
        for r in per_lot[~per_lot["status_consistent"]].itertuples():
            warnings.append(f"lot {r.lot}: status {r.status!r} does not match its results "
                            f"({'OOS' if r.oos else 'within specification'})")

    exposures = pd.DataFrame(columns=["site_code", "patient_ref", "lot",
                                      "oos_request_documented", "flagged"])
    if administrations is not None:
        require_columns(administrations, ["site_code", "patient_ref", "lot_code"],
                        "administrations")
        adm = administrations[administrations["lot_code"].astype(str).isin(oos_lots)]
        doc = (adm["oos_request_documented"] if "oos_request_documented" in adm
               else pd.Series(False, index=adm.index))
        doc = doc.astype("boolean").fillna(False).astype(bool)
        exposures = pd.DataFrame({
            "site_code": adm["site_code"].to_numpy(), "patient_ref": adm["patient_ref"].to_numpy(),
            "lot": adm["lot_code"].astype(str).to_numpy(),
            "oos_request_documented": doc.to_numpy(), "flagged": ~doc.to_numpy(),
        })
        n_flag = int(exposures["flagged"].sum())
        if n_flag:
            warnings.append(f"{n_flag} administration(s) of OOS lots without a documented "
                            "out-of-specification supply request")
    return SpecCheck(results=results, lots=per_lot, oos_lots=oos_lots, exposures=exposures,
                     warnings=warnings,
                     options={"lots_given": lots is not None,
                              "administrations_given": administrations is not None})


def _blank(x: object) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or (
        isinstance(x, str) and not x.strip()) or x is pd.NA


def _norm(x: object) -> str:
    return "" if _blank(x) else str(x).strip().casefold()


def _categories(x: object) -> tuple[str, ...] | None:
    """Accepted categories of a category specification (``|``-separated), normalized."""
    if _blank(x):
        return None
    cats = tuple(_norm(c) for c in str(x).split("|") if c.strip())
    return cats or None
