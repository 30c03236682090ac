"""CQA discovery: association of lot quality attributes with patients' outcomes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regmed.errors import ConvergenceError, DataError, Problem
from regmed.evidence import fit_cox, fit_glm
from regmed.evidence._glm import standardized
from regmed.quality._common import bh_adjust, lot_table, require_columns
from regmed.quality._cr2 import cr2_linear
from regmed.quality._model import design_columns, rcs_basis
from regmed.results import Result, format_table

__all__ = ["Association", "associate", "rcs_basis"]

KINDS = ("binary", "continuous", "survival")
_SCALE = {"binary": "log odds ratio per SD", "continuous": "difference per SD",
          "survival": "log hazard ratio per SD"}
COLUMNS = ["attribute", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "q_value",
           "n_patients", "n_lots"]


@dataclasses.dataclass(frozen=True)
class Association(Result):
    """Per-attribute association of lot quality with patient outcome.

    Attributes
    ----------
    estimates : pandas.DataFrame
        One row per attribute: ``attribute, estimate, std_error, ci_lower, ci_upper, p_value,
        q_value, n_patients, n_lots`` then ``term, statistic, sd`` (the attribute's SD over
        the lots analysed: the unit of the effect), ``df`` (of the t test and interval; NaN
        for z), ``ratio`` (exp(estimate) for binary and
        survival outcomes) and, with ``spline=True``, ``p_nonlinear``; with a ``site_key``,
        ``loso_min, loso_max, loso_same_sign`` (range of the estimate when each site is left
        out, and whether its sign never changes).
    stability : pandas.DataFrame
        Leave-one-site-out fits: ``attribute, site_left_out, estimate, std_error, p_value,
        n_patients`` (empty without ``site_key``).
    warnings : list of str
    options : dict
        ``kind``, ``scale`` (what ``estimate`` measures), ``outcome``, ``adjust``,
        ``cluster``, ``lot_key``, ``spline``, ``site_key``, ``conf_level``,
        ``small_sample`` (as given) and ``variance`` (the variance and reference
        distribution used).
    """

    estimates: pd.DataFrame
    stability: pd.DataFrame
    warnings: list[str]
    options: dict[str, Any]

    @property
    def table(self) -> pd.DataFrame:
        """The estimates with the contract columns only."""
        return self.estimates[COLUMNS]

    def significant(self, q: float = 0.05) -> list[str]:
        """Attributes with a q-value below ``q``."""
        return self.estimates.loc[self.estimates["q_value"] < q, "attribute"].tolist()

    def summary(self) -> str:
        title = (f"CQA association with {self.options['outcome']} ({self.options['scale']}; "
                 f"cluster: {self.options['cluster'] or 'none'})")
        return format_table(self.table, title=title)


def _fit(data: pd.DataFrame, x: np.ndarray, extra: np.ndarray | None, kind: str,
         outcome: str, adjust: Sequence[str], cluster: np.ndarray | None, cr2: bool = False
         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients and variance of [x, extra...] and the df of x (-1 for z tests).

    The df are the residual df, or with ``cr2`` (linear model with clusters) the
    Satterthwaite df of the CR2 variance, which replaces the CR1 one.
    """
    cov = design_columns(data, adjust)
    cols = [x[:, None]] + ([extra] if extra is not None else []) + [cov.to_numpy()]
    xs = np.column_stack(cols)
    p = xs.shape[1] - cov.shape[1]
    if kind == "survival":
        frame = pd.DataFrame(xs, columns=[f"v{i}" for i in range(xs.shape[1])])
        frame["_time"] = data[f"{outcome}_time"].to_numpy(dtype=float)
        frame["_event"] = data[f"{outcome}_event"].to_numpy(dtype=float)
        if cluster is not None:
            frame["_cluster"] = cluster
        cox = fit_cox(frame, "_time", "_event", [f"v{i}" for i in range(xs.shape[1])],
                      cluster="_cluster" if cluster is not None else None)
        return np.asarray(cox.coef)[:p], np.asarray(cox.vcov)[:p, :p], -1
    design = np.column_stack([np.ones(len(xs)), xs])
    y = data[outcome].to_numpy(dtype=float)
    family = "binomial_logit" if kind == "binary" else "gaussian"
    if np.linalg.matrix_rank(standardized(design)[0]) < design.shape[1]:
        raise DataError("The design is singular (an adjustment covariate is constant or "
                        "collinear with the attribute).")
    fit = fit_glm(design, y, np.ones(len(y)), family, cluster)
    vcov = fit.vcov
    if cr2 and cluster is not None and kind == "continuous":
        vcov, df_x = cr2_linear(design, y - fit.fitted, cluster, 1)
        return fit.coef[1: p + 1], vcov[1: p + 1, 1: p + 1], df_x
    if cluster is None:
        vcov = fit.bread
        if kind == "continuous":
            resid = y - fit.fitted
            vcov = vcov * float(resid @ resid) / fit.df_residual
    df = float(fit.df_residual) if kind == "continuous" else -1.0
    return fit.coef[1: p + 1], vcov[1: p + 1, 1: p + 1], df


def _method(kind: str, cluster: str | None, small_sample: bool | str) -> str | None:
    """The small-sample method: "CR2", "CR1" (t on G - 1 df) or None."""
    if cluster is None or small_sample is False:
        return None
    if small_sample is True:
        return "CR2" if kind == "continuous" else "CR1"
    return str(small_sample)


def _variance_label(method: str | None, cluster: str | None) -> str:
    """What the variance and reference distribution are, for ``options["variance"]``."""
    if cluster is None:
        return "model-based"
    return {"CR2": "CR2 (clubSandwich), t on Satterthwaite df",
            "CR1": "CR1 (vcovCL), t on G - 1 df"}.get(
        method or "", "CR1 (vcovCL), coeftest defaults (z; t on residual df for lm)")


def _one(data: pd.DataFrame, attribute: str, kind: str, outcome: str, adjust: Sequence[str],
         lot_key: str, cluster_key: str | None, spline: bool, level: float,
         method: str | None = None) -> dict[str, Any]:
    lots = data.drop_duplicates(lot_key)[attribute]
    sd = float(lots.std(ddof=1)) if len(lots) > 1 else float("nan")
    if not sd > 0:
        raise DataError(f"attribute {attribute!r} does not vary between lots.")
    x = ((data[attribute] - float(lots.mean())) / sd).to_numpy(dtype=float)
    groups = (data[cluster_key].astype(str).to_numpy() if cluster_key is not None else None)
    cr2 = method == "CR2"
    coef, vcov, df = _fit(data, x, None, kind, outcome, adjust, groups, cr2)
    if method == "CR1" and groups is not None:
        df = len(np.unique(groups)) - 1.0
    se = float(np.sqrt(vcov[0, 0]))
    stat = float(coef[0]) / se
    if df > 0:
        p = 2.0 * stats.t.sf(abs(stat), df)
        crit = stats.t.ppf(0.5 + level / 2.0, df)
    else:
        p = 2.0 * stats.norm.sf(abs(stat))
        crit = stats.norm.ppf(0.5 + level / 2.0)
    row: dict[str, Any] = {
        "attribute": attribute, "estimate": float(coef[0]), "std_error": se,
        "ci_lower": float(coef[0]) - crit * se, "ci_upper": float(coef[0]) + crit * se,
        "p_value": float(p), "n_patients": int(len(data)), "n_lots": int(len(lots)),
        "term": f"{attribute} (per SD)", "statistic": stat, "sd": sd,
        "ratio": float(np.exp(coef[0])) if kind != "continuous" else float("nan"),
        "df": float(df) if df > 0 else float("nan"),
    }
    if spline:
        knots = np.quantile(x, [0.0, 1 / 3, 2 / 3, 1.0])
        if len(np.unique(knots)) < 4:
            row["p_nonlinear"] = float("nan")
        else:
            c2, v2, _ = _fit(data, x, rcs_basis(x, knots), kind, outcome, adjust, groups,
                             cr2)
            b = c2[1:]
            wald = float(b @ np.linalg.solve(v2[1:, 1:], b))
            row["p_nonlinear"] = float(stats.chi2.sf(wald, len(b)))
    return row


def associate(
    patients: pd.DataFrame,
    lots: pd.DataFrame | None,
    outcome: str,
    attributes: Sequence[str],
    kind: str = "binary",
    *,
    lot_key: str = "lot_code",
    adjust: Sequence[str] = (),
    cluster: str | None = "lot",
    donor_key: str = "donor_code",
    log: Sequence[str] = (),
    small_sample: bool | str = True,
    spline: bool = False,
    site_key: str | None = None,
    conf_level: float = 0.95,
) -> Association:
    """Associate each lot quality attribute with the patients' outcome (CQA discovery).

    For each attribute separately, the outcome is regressed on the lot's value of the
    attribute, standardized by its SD over the lots analysed, plus the ``adjust`` covariates:
    logistic regression (binary), linear regression (continuous) or a Cox model (survival).
    With ``cluster="lot"`` the variance is cluster-robust by lot, as R's
    ``sandwich::vcovCL(fit, cluster = ~lot)`` (glm, lm) or ``coxph(..., cluster = lot)``,
    because patients treated from one allogeneic lot share its quality; tests and intervals
    are Wald tests. By default the linear model instead uses the bias-reduced CR2 variance
    with Satterthwaite df (``clubSandwich``) and the other models t on G − 1 df (see
    ``small_sample``). The
    q-values are Benjamini-Hochberg adjusted across the attributes.

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per treated patient with ``lot_key``, the outcome and the covariates. For
        ``kind="survival"`` the columns ``<outcome>_time`` and ``<outcome>_event``.
        Patients without a lot are left out.
    lots : pandas.DataFrame or None
        Lot attributes: wide (``lot_key`` and one column per attribute) or long like the
        registry's ``lot_results`` (``lot_key, attribute_code, value``). None when the
        attribute columns are already in ``patients``.
    outcome : str
        Outcome column (binary 0/1, continuous) or survival endpoint prefix.
    attributes : sequence of str
        Attribute codes (column names).
    kind : {"binary", "continuous", "survival"}
    lot_key : str
    adjust : sequence of str
        Patient covariates; non-numeric ones enter as dummies (first level in sorted order is
        the reference, as R's factors).
    cluster : {"lot", "donor", None}
        Cluster-robust variance by lot (patients of one lot share its quality), by donor
        (lots of one donor share the donor's traits, which also act through attributes that
        are not analysed: with several lots per donor, clustering by lot alone can give too
        small variances), or the model-based variance.
    donor_key : str
        Donor column (in ``patients`` or the wide ``lots``) for ``cluster="donor"``.
    small_sample : {True, False, "CR2", "CR1"}
        Small-sample correction of the cluster-robust tests and intervals (ignored without
        a cluster), which curbs the too-small cluster-robust variances of few clusters.
        ``"CR2"`` (``kind="continuous"`` only): the bias-reduced variance of Bell &
        McCaffrey (2002) with Student's t on Satterthwaite degrees of freedom (Pustejovsky &
        Tipton 2018), as R's ``clubSandwich::coef_test(fit, vcov = "CR2", cluster = ...,
        test = "Satterthwaite")`` and ``conf_int``; the df are per attribute and can be far
        below G − 1 when a few clusters carry much leverage. ``"CR1"``: the ``vcovCL``
        variance with t on G − 1 degrees of freedom (G clusters; Cameron & Miller 2015;
        ``lmtest::coeftest(fit, vcov = V, df = G - 1)``). True (default): ``"CR2"`` for
        the linear model, ``"CR1"`` for logistic and Cox models, where CR2 and its df are
        less settled (no closed-form bias reduction for a nonlinear model, and the
        working-model df rest on the linear model's hat matrix). False gives R's
        ``coeftest`` defaults (``vcovCL`` with z for logistic and Cox models, t on the
        residual df for the linear model). ``options["variance"]`` names the choice made;
        the ``df`` column gives each attribute's df (NaN for z tests). The spline test uses
        the same variance.
    log : sequence of str
        Attributes analysed on the log scale (effect per SD of the log value), e.g. potency
        assays whose effect is multiplicative.
    spline : bool
        Also test the dose-response shape: a Wald test (``p_nonlinear``, chi-square, with the
        same variance) of the nonlinear terms of a restricted cubic spline with knots at the
        0, 1/3, 2/3, 1 quantiles of the attribute (the space of ``ns(x, df = 3)``).
    site_key : str, optional
        Site column: refit leaving out each site in turn (stability).
    conf_level : float

    Returns
    -------
    Association

    References
    ----------
    .. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate. J R Stat
       Soc B 57:289-300.
    .. [2] Zeileis A, Köll S, Graham N (2020). Various versatile variances: an
       object-oriented implementation of clustered covariances in R. J Stat Softw 95(1).
    .. [3] Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards
       model. JASA 84:1074-1078.
    .. [4] Harrell FE (2015). Regression Modeling Strategies, 2nd ed. Springer.
    .. [5] Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust inference.
       J Human Resources 50:317-372.
    .. [6] Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear
       regression with multi-stage samples. Survey Methodology 28:169-181.
    .. [7] Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust variance
       estimation and hypothesis testing in fixed effects models. J Bus Econ Stat
       36:672-683.

    Examples
    --------
    >>> from regmed.quality.simulate import simulate_quality
    >>> sim = simulate_quality(rng=1)
    >>> res = associate(sim.patients, sim.lots, "response", sim.attributes)
    >>> sorted(res.significant())
    ['a01', 'a02']
    """
    if kind not in KINDS:
        raise DataError(f"kind must be one of {KINDS}, not {kind!r}.")
    if cluster not in ("lot", "donor", None):
        raise DataError(f"cluster must be 'lot', 'donor' or None, not {cluster!r}.")
    if not (isinstance(small_sample, bool) or small_sample in ("CR1", "CR2")):
        raise DataError(f"small_sample must be True, False, 'CR2' or 'CR1', "
                        f"not {small_sample!r}.")
    if small_sample == "CR2" and kind != "continuous":
        raise DataError("small_sample='CR2' is available for kind='continuous' only.")
    method = _method(kind, cluster, small_sample)
    attributes = list(attributes)
    adjust = list(adjust)
    ycols = [f"{outcome}_time", f"{outcome}_event"] if kind == "survival" else [outcome]
    require_columns(patients, [lot_key, *ycols, *adjust] + ([site_key] if site_key else []),
                    "patients")
    data = patients[patients[lot_key].notna()].copy()
    data[lot_key] = data[lot_key].astype(str)
    if lots is not None:
        table = lot_table(lots, attributes, lot_key)
        table.index = table.index.astype(str)
        unknown = sorted(set(data[lot_key]) - set(table.index))
        if unknown:
            raise DataError("patients refer to lots without quality results",
                            [Problem(f"lot {u!r} has no results", file="patients",
                                     field=lot_key) for u in unknown[:20]])
        data = data.drop(columns=[a for a in attributes if a in data.columns])
        data = data.join(table, on=lot_key)
    else:
        require_columns(data, attributes, "patients")
    bad_log = [a for a in log if a not in attributes]
    if bad_log:
        raise DataError(f"log names attributes that are not analysed: {bad_log}.")
    for a in log:
        if (data[a].dropna() <= 0).any():
            raise DataError(f"attribute {a!r} has values <= 0 and cannot be log-transformed.")
        data[a] = np.log(data[a])
    warnings: list[str] = []
    cluster_key = {"lot": lot_key, "donor": donor_key, None: None}[cluster]
    if donor_key not in data.columns and lots is not None and donor_key in lots.columns:
        donors = lots.drop_duplicates(lot_key).set_index(lot_key)[donor_key]
        donors.index = donors.index.astype(str)
        data[donor_key] = data[lot_key].map(donors)
    if cluster == "donor" and donor_key not in data.columns:
        raise DataError(f"cluster='donor' needs the column {donor_key!r} in patients or lots.")
    if cluster == "lot" and donor_key in data.columns:
        per_donor = data.drop_duplicates(lot_key).groupby(donor_key).size()
        if (per_donor > 1).any():
            warnings.append(f"{int((per_donor > 1).sum())} donors gave several lots: lots of "
                            "one donor are correlated; consider cluster='donor'")
    if kind == "binary":
        vals = set(pd.unique(data[outcome].dropna()))
        if not vals <= {0, 1}:
            raise DataError(f"binary outcome {outcome!r} must be 0/1.")
    rows, loso = [], []
    for attribute in attributes:
        sub = data.dropna(subset=[attribute, *ycols, *adjust]
                          + ([cluster_key] if cluster_key else []))
        try:
            rows.append(_one(sub, attribute, kind, outcome, adjust, lot_key, cluster_key,
                             spline, conf_level, method))
        except (DataError, ConvergenceError) as err:  # this attribute only: keep the others
            warnings.append(f"{attribute}: not estimated: {err.message}")
            rows.append({"attribute": attribute, "estimate": np.nan, "std_error": np.nan,
                         "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
                         "n_patients": int(len(sub)),
                         "n_lots": int(sub[lot_key].nunique()),
                         "term": f"{attribute} (per SD)", "statistic": np.nan, "sd": np.nan,
                         "ratio": np.nan, "df": np.nan})
            continue
        n_clusters = sub[cluster_key].nunique() if cluster_key else None
        if n_clusters is not None and n_clusters < 20:
            warnings.append(f"{attribute}: only {n_clusters} clusters ({cluster}s); "
                            "cluster-robust variances are too small with few clusters")
        if site_key:
            for site in sorted(sub[site_key].astype(str).unique()):
                rest = sub[sub[site_key].astype(str) != site]
                try:
                    r = _one(rest, attribute, kind, outcome, adjust, lot_key, cluster_key, False,
                             conf_level, method)
                except (DataError, ConvergenceError) as err:  # e.g. no variation left
                    warnings.append(f"{attribute}, without site {site}: {err.message}")
                    continue
                loso.append({"attribute": attribute, "site_left_out": site,
                             "estimate": r["estimate"], "std_error": r["std_error"],
                             "p_value": r["p_value"], "n_patients": r["n_patients"]})
    est = pd.DataFrame(rows)
    est["q_value"] = bh_adjust(est["p_value"].to_numpy())
    extra = [c for c in est.columns if c not in COLUMNS]
    est = est[COLUMNS + extra]
    stability = pd.DataFrame(loso, columns=["attribute", "site_left_out", "estimate",
                                            "std_error", "p_value", "n_patients"])
    if site_key and len(stability):
        g = stability.groupby("attribute")["estimate"]
        est["loso_min"] = est["attribute"].map(g.min())
        est["loso_max"] = est["attribute"].map(g.max())
        same = np.sign(est["loso_min"]) == np.sign(est["loso_max"])
        est["loso_same_sign"] = same & (np.sign(est["loso_min"]) == np.sign(est["estimate"]))
    return Association(
        estimates=est, stability=stability, warnings=warnings,
        options={"kind": kind, "scale": _SCALE[kind], "outcome": outcome, "adjust": adjust,
                 "cluster": cluster, "lot_key": lot_key, "donor_key": donor_key, "log": list(log),
                 "spline": spline,
                 "site_key": site_key, "conf_level": conf_level, "attributes": attributes,
                 "small_sample": small_sample, "variance": _variance_label(method, cluster)},
    )
