"""The report's figures, drawn from parts of the evaluation document.

Each function returns a :class:`matplotlib.figure.Figure` on the Agg canvas; none shows or
saves anything and none touches pyplot's global state (DESIGN.md convention 8). They draw
what the document holds and compute no statistics (histogram binning of the stored
propensity scores is the only arithmetic).

Axis labels are in English: matplotlib's default fonts have no Japanese glyphs. Text taken
from the document (covariate, site or subgroup names) falls back to a CJK font when one is
installed, so Japanese names still draw.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from regmed.document import RATIO_MEASURES, null_value

__all__ = ["love_plot", "ps_distribution", "forest_plot", "km_plot", "attrition_diagram",
           "TREATED_COLOR", "CONTROL_COLOR"]

TREATED_COLOR = "#1f5fa8"
CONTROL_COLOR = "#d9822b"
_GREY = "#6b6b6b"
_CJK_FAMILIES = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Droid Sans Fallback")

MEASURE_LABELS = {
    "risk_difference": "Risk difference",
    "risk_ratio": "Risk ratio",
    "odds_ratio": "Odds ratio",
    "mean_difference": "Mean difference",
    "hazard_ratio": "Hazard ratio",
}


@contextlib.contextmanager
def _fonts() -> Iterator[None]:
    """Let text created inside fall back to an installed CJK font (labels stay DejaVu Sans)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in _CJK_FAMILIES if f in installed]
    with matplotlib.rc_context({"font.family": ["DejaVu Sans", *cjk], "font.size": 9}):
        yield


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def measure_label(measure: str) -> str:
    """Readable name of an effect measure (the stored name when unknown)."""
    return MEASURE_LABELS.get(measure, measure.replace("_", " ").capitalize())


# ----------------------------------------------------------------------------- love plot


def love_plot(balance: Sequence[Mapping[str, Any]], *, threshold: float = 0.1,
              title: str | None = None) -> Figure:
    """Absolute standardized mean differences before and after adjustment, one row per covariate.

    Parameters
    ----------
    balance : list of dict
        ``analyses[i].balance`` rows (``covariate``, ``smd_before``, ``smd_after``).
    threshold : float
        Where to draw the dashed balance line (0.1 by convention).
    title : str, optional
        Figure title.

    References
    ----------
    Austin PC (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Stat Med 28:3083.
    """
    with _fonts():
        rows = sorted(balance, key=lambda r: abs(_num(r["smd_before"])) if r["smd_before"]
                      is not None else -1.0)
        fig = _figure(7.0, 1.2 + 0.32 * max(len(rows), 1))
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        before = [abs(_num(r["smd_before"])) for r in rows]
        after = [abs(_num(r["smd_after"])) for r in rows]
        for yi, b, a in zip(y, before, after, strict=True):
            if not (math.isnan(b) or math.isnan(a)):
                ax.plot([b, a], [yi, yi], color="#c8c8c8", lw=1, zorder=1)
        ax.scatter(before, y, s=36, facecolors="white", edgecolors=CONTROL_COLOR, lw=1.5,
                   label="Before adjustment", zorder=2)
        ax.scatter(after, y, s=36, color=TREATED_COLOR, label="After adjustment", zorder=3)
        ax.axvline(threshold, color=_GREY, ls="--", lw=1)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [str(r["covariate"]) for r in rows])
        ax.set_xlabel("Absolute standardized mean difference")
        finite = [v for v in before + after if not math.isnan(v)]
        ax.set_xlim(0, max([threshold * 1.5, *finite]) * 1.1)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.grid(axis="x", color="#eeeeee")
        ax.legend(loc="lower right", frameon=True, fontsize=8)
        if not rows:
            ax.text(0.5, 0.5, "No balance rows stored", transform=ax.transAxes,
                    ha="center", color=_GREY)
        if title:
            ax.set_title(title, fontsize=10, loc="left")
    return fig


# ---------------------------------------------------------------------- PS distributions


def _histogram(row: Mapping[str, Any], edges: np.ndarray) -> tuple[np.ndarray, int] | None:
    """A stored row's density over ``edges`` and its number of patients (None: no patients).

    A row holds either the patients per bin (``counts``, weighted by ``weights``: the sum of
    the weights per bin) or, in documents written before, one score per patient (``ps``, with
    one weight each), which is binned here."""
    width = np.diff(edges)
    if "counts" in row:
        counts = np.asarray([_num(v) for v in row["counts"]], dtype=float)
        w = row.get("weights")
        mass = counts if w is None else np.asarray([_num(v) for v in w], dtype=float)
        n, total = int(np.nansum(counts)), float(np.nansum(mass))
        if not n or total <= 0:
            return None
        return np.nan_to_num(mass) / (total * width), n
    ps = np.asarray([_num(v) for v in row.get("ps") or []], dtype=float)
    w = row.get("weights")
    wts = None if w is None else np.asarray([_num(v) for v in w], dtype=float)
    ok = ~np.isnan(ps) if wts is None else ~(np.isnan(ps) | np.isnan(wts))
    if not ok.any():
        return None
    dens, _ = np.histogram(ps[ok], bins=edges, density=True,
                           weights=None if wts is None else wts[ok])
    return dens, int(ok.sum())


def ps_distribution(distribution: Sequence[Mapping[str, Any]], *,
                    title: str | None = None, bins: int | Sequence[float] = 25) -> Figure:
    """Mirrored histograms of the propensity score, treated above and control below the axis,
    before (left) and after (right) matching or weighting.

    Parameters
    ----------
    distribution : list of dict
        ``analyses[i].propensity.distribution`` rows (``group``, ``stage`` and ``counts`` per
        bin, with ``weights`` per bin for weighting; or, in older documents, ``ps`` and
        ``weights`` per patient). Densities are drawn so that groups of unequal size compare.
    title : str, optional
        Figure title.
    bins : int or sequence of float
        The stored bin edges (``analyses[i].propensity.bins``) of rows with ``counts``, or a
        number of equal-width bins on [0, 1] for rows with scores.

    References
    ----------
    Austin PC, Stuart EA (2015). Moving towards best practice when using inverse probability of
    treatment weighting (IPTW) using the propensity score. Stat Med 34:3661.
    """
    with _fonts():
        fig = _figure(8.0, 3.4)
        axes = fig.subplots(1, 2, sharey=True)
        edges = (np.linspace(0.0, 1.0, int(bins) + 1) if isinstance(bins, int)
                 else np.asarray([_num(v) for v in bins], dtype=float))
        for ax, stage, name in zip(axes, ("before", "after"), ("Before adjustment",
                                                                 "After adjustment"), strict=True):
            for group, sign, color in (("treated", 1, TREATED_COLOR), ("control", -1,
                                                                         CONTROL_COLOR)):
                for row in distribution:
                    drawn = (_histogram(row, edges) if row["group"] == group
                             and row["stage"] == stage else None)
                    if drawn is None:
                        continue
                    dens, n = drawn
                    ax.stairs(sign * dens, edges, fill=True, color=color, alpha=0.75,
                              label=f"{group.capitalize()} (n = {n})")
                    ax.stairs(sign * dens, edges, color=color, lw=0.8)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xlim(0, 1)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("Propensity score")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper right")
            else:
                ax.text(0.5, 0.5, "No scores stored", transform=ax.transAxes, ha="center",
                        color=_GREY)
        axes[0].set_ylabel("Density (treated up, control down)")
        lim = max(abs(v) for ax in axes for v in ax.get_ylim())
        axes[0].set_ylim(-lim * 1.15, lim * 1.15)
        axes[0].yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _p: f"{abs(v):g}"))
        if title:
            fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    return fig


# ---------------------------------------------------------------------------- forest plot


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "—"
    text = f"{float(x):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def forest_plot(effect: Mapping[str, Any], by_site: Sequence[Mapping[str, Any]] = (),
                subgroups: Sequence[Mapping[str, Any]] = (), *, n_treated: int | None = None,
                n_control: int | None = None, threshold: float | None = None,
                title: str | None = None) -> Figure:
    """Forest plot of the overall effect, the effect by site and by subgroup.

    Parameters
    ----------
    effect : dict
        ``analyses[i].effect`` (``measure``, ``estimate``, ``ci_lower``, ``ci_upper``).
    by_site, subgroups : list of dict
        ``analyses[i].by_site`` and ``analyses[i].subgroups`` rows, same measure.
    n_treated, n_control : int, optional
        Numbers analysed, printed on the overall row.
    threshold : float, optional
        The achievement criterion's threshold, drawn as a dotted line.
    title : str, optional
        Figure title.

    Notes
    -----
    Ratio measures (risk, odds and hazard ratios) are drawn on a log axis with the null line at
    1; differences on a linear axis with the null line at 0.

    References
    ----------
    Lewis S, Clarke M (2001). Forest plots: trying to see the wood and the trees. BMJ 322:1479.
    """
    measure = str(effect["measure"])
    rows: list[tuple[str, str, Any, Any, Any, str]] = []  # label, kind, est, lo, hi, n
    n_overall = "" if n_treated is None else f"{n_treated} / {n_control}"
    rows.append(("Overall", "overall", effect["estimate"], effect["ci_lower"],
                 effect["ci_upper"], n_overall))
    if by_site:
        rows.append(("By site", "header", None, None, None, ""))
        for s in by_site:
            rows.append((str(s["site"]), "row", s["estimate"], s["ci_lower"], s["ci_upper"],
                         f"{s['n_treated']} / {s['n_control']}"))
    current = None
    for g in subgroups:
        if g["subgroup"] != current:
            current = g["subgroup"]
            rows.append((str(current), "header", None, None, None, ""))
        rows.append((str(g["level"]), "row", g["estimate"], g["ci_lower"], g["ci_upper"],
                     str(g["n"])))
    with _fonts():
        fig = _figure(8.0, 1.3 + 0.27 * len(rows))
        ax, side = fig.subplots(1, 2, sharey=True, width_ratios=[3.0, 1.5])
        y = np.arange(len(rows))[::-1].astype(float)
        log = measure in RATIO_MEASURES
        null = null_value(measure)
        dg = 1 if measure == "mean_difference" else 2
        values: list[float] = []
        for yi, (_label, kind, est, lo, hi, _n) in zip(y, rows, strict=True):
            if kind == "header" or est is None:
                continue
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [yi, yi], color="black" if kind == "overall" else _GREY,
                        lw=1.6 if kind == "overall" else 1.1)
                values += [float(lo), float(hi)]
            values.append(float(est))
            if kind == "overall":
                half = 0.32
                lo_d = float(lo) if lo is not None else float(est)
                hi_d = float(hi) if hi is not None else float(est)
                ax.fill([lo_d, est, hi_d, est], [yi, yi + half, yi, yi - half],
                        color=TREATED_COLOR, zorder=3)
            else:
                ax.plot(est, yi, "s", color=TREATED_COLOR, ms=5, zorder=3)
        ax.axvline(null, color="black", lw=0.8)
        if threshold is not None:
            ax.axvline(threshold, color=CONTROL_COLOR, ls=":", lw=1.5,
                       label=f"Achievement threshold ({threshold:g})")
            values.append(float(threshold))
            fig.legend(loc="outside lower right", fontsize=7, frameon=False)
        if log:
            ax.set_xscale("log")
            positive = [v for v in values + [null] if v > 0]
            lo_x, hi_x = min(positive), max(positive)
            ax.set_xlim(lo_x / 1.25, hi_x * 1.25)
            nice = [0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20, 50]
            ticks = [t for t in nice if lo_x / 1.25 <= t <= hi_x * 1.25]
            if len(ticks) > 7:
                ticks = ticks[:: -(-len(ticks) // 7)] + ([1] if 1 not in ticks[:: -(
                    -len(ticks) // 7)] else [])
            ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(sorted(set(ticks))))
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:g}"))
        else:
            lo_x, hi_x = min(values + [null]), max(values + [null])
            pad = 0.08 * (hi_x - lo_x or 1.0)
            ax.set_xlim(lo_x - pad, hi_x + pad)
        ax.set_yticks(y, [r[0] for r in rows])
        for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r[1] in ("header", "overall"):
                tick.set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.8, len(rows) + 0.25)
        side.set_xlim(0, 1)
        side.axis("off")
        side.text(0.0, len(rows) - 0.25, "n (T / C)", fontsize=8, fontweight="bold",
                  va="center")
        side.text(0.38, len(rows) - 0.25, "Estimate (95% CI)", fontsize=8, fontweight="bold",
                  va="center")
        for yi, (_label, kind, est, lo, hi, n) in zip(y, rows, strict=True):
            if kind == "header":
                continue
            weight = "bold" if kind == "overall" else "normal"
            side.text(0.0, yi, n, va="center", fontsize=8, fontweight=weight)
            side.text(0.38, yi, f"{_fmt(est, dg)} ({_fmt(lo, dg)}, {_fmt(hi, dg)})", va="center",
                      fontsize=8, fontweight=weight)
        ax.set_xlabel(measure_label(measure) + (" (log scale)" if log else ""))
        ax.grid(axis="x", color="#eeeeee")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        if title:
            ax.set_title(title, fontsize=10, loc="left")
    return fig


# ----------------------------------------------------------------------------- KM curves


def km_plot(km: Sequence[Mapping[str, Any]], *, title: str | None = None,
            ylabel: str = "Proportion without event", xlabel: str = "Days") -> Figure:
    """Kaplan–Meier step curves with pointwise confidence bands, one per group.

    Parameters
    ----------
    km : list of dict
        ``analyses[i].km`` rows (``group``, ``time``, ``surv``, ``lower``, ``upper``), each
        group in time order starting at time 0.
    title, ylabel, xlabel : str
        Labels.

    References
    ----------
    Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. JASA 53:457.
    """
    with _fonts():
        fig = _figure(7.0, 3.8)
        ax = fig.add_subplot()
        for group, color in (("treated", TREATED_COLOR), ("control", CONTROL_COLOR)):
            rows = [r for r in km if r["group"] == group]
            if not rows:
                continue
            t = np.asarray([_num(r["time"]) for r in rows])
            s = np.asarray([_num(r["surv"]) for r in rows])
            ax.step(t, s, where="post", color=color, lw=1.8, label=group.capitalize())
            lower = np.asarray([_num(r["lower"]) for r in rows])
            upper = np.asarray([_num(r["upper"]) for r in rows])
            if not (np.isnan(lower).all() or np.isnan(upper).all()):
                ax.fill_between(t, lower, upper, step="post", color=color, alpha=0.15, lw=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(color="#eeeeee")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
        if title:
            ax.set_title(title, fontsize=10, loc="left")
    return fig


# ---------------------------------------------------------------------- attrition diagram

_COHORT_NAMES = {"treated": "Treated", "concurrent": "Concurrent controls",
                 "historical": "Historical controls", "external": "External controls"}


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, *, face: str,
         edge: str, bold: bool = False, size: float = 8.0) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.06",
                                facecolor=face, edgecolor=edge, lw=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=size,
            fontweight="bold" if bold else "normal", linespacing=1.25)


def attrition_diagram(attrition: Sequence[Mapping[str, Any]], *,
                      cohort_names: Mapping[str, str] | None = None) -> Figure:
    """Patient-flow diagram: one column per cohort, each exclusion step as a side box.

    Parameters
    ----------
    attrition : list of dict
        The document's ``attrition`` rows (``step``, ``cohort``, ``n_before``, ``n_after``,
        ``n_excluded``, ``reason``) in the order applied.
    cohort_names : dict, optional
        Display names of the cohorts (English defaults).

    References
    ----------
    von Elm E et al. (2007). The STROBE statement: guidelines for reporting observational
    studies (flow diagram, item 13). Lancet 370:1453.
    """
    names = {**_COHORT_NAMES, **(cohort_names or {})}
    cohorts: dict[str, list[Mapping[str, Any]]] = {}
    for row in attrition:
        cohorts.setdefault(str(row["cohort"]), []).append(row)
    n_col = max(len(cohorts), 1)
    depth = max((1 + sum(1 for r in rows if r["n_excluded"]) for rows in cohorts.values()),
                default=1)
    col_w = 3.5
    with _fonts():
        fig = _figure(col_w * n_col, (depth - 1) * 1.25 + 1.4)
        ax = fig.add_subplot()
        ax.set_xlim(0, col_w * n_col)
        ax.set_ylim(-(depth - 1) * 1.25 - 0.45, 0.95)
        ax.axis("off")
        for c, (cohort, rows) in enumerate(cohorts.items()):
            cx = col_w * c + 0.95
            ax.text(col_w * c + 0.12, 0.68, names.get(cohort, cohort), fontsize=11,
                    fontweight="bold", va="center")
            first = rows[0]
            start_label = first["step"] if not first["n_excluded"] else "Identified"
            level = 0.0
            _box(ax, cx, level, 1.62, 0.6, f"{start_label}\nn = {first['n_before']}",
                 face="#eef3fa", edge=TREATED_COLOR if cohort == "treated" else CONTROL_COLOR,
                 size=10)
            steps = [r for r in rows if r["n_excluded"]]
            for i, r in enumerate(steps):
                nxt = level - 1.25
                ax.annotate("", xy=(cx, nxt + 0.32), xytext=(cx, level - 0.32),
                            arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1})
                mid = (level + nxt) / 2
                ax.plot([cx, cx + 0.88], [mid, mid], color="black", lw=0.8)
                reason = textwrap.fill(str(r["reason"] or r["step"]), 21)
                height = min(0.2 + 0.155 * (2 + reason.count("\n")), 1.0)
                _box(ax, cx + 1.68, mid, 1.6, height,
                     f"Excluded n = {r['n_excluded']}\n{reason}", face="#fbf3ea",
                     edge="#b7b7b7", size=8.5)
                last = i == len(steps) - 1
                label = "Analysis set" if last else f"After: {r['step']}"
                _box(ax, cx, nxt, 1.62, 0.6, f"{textwrap.fill(label, 20)}\nn = {r['n_after']}",
                     face="#e2ecf8" if last else "#eef3fa", edge="black" if last else "#7f9cc4",
                     bold=last, size=10)
                level = nxt
    return fig
