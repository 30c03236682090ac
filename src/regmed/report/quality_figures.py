"""Figures of the quality section, drawn from the document's ``quality`` part.

Like :mod:`regmed.report.figures`: each function returns a Figure on the Agg canvas, shows
and saves nothing, and computes no statistics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np

from regmed.report.figures import _GREY, TREATED_COLOR, _figure, _fonts, _num

__all__ = ["lot_series_plot", "cqa_forest", "composition_bars"]

_OOS_COLOR = "#c0392b"
_VERSION_MARKERS = ("o", "s", "^", "D", "v")


def _dates(values: Sequence[Any]) -> np.ndarray:
    out: list[Any] = []
    for v in values:
        try:
            out.append(np.datetime64(str(v)[:10], "D"))
        except ValueError:
            out.append(np.datetime64("NaT"))
    return np.array(out, dtype="datetime64[D]")


def lot_series_plot(points: Sequence[Mapping[str, Any]], *, columns: int = 2,
                    title: str | None = None) -> Any:
    """Release results of each numeric attribute by lot over manufacturing time.

    One panel per attribute: a point per lot (marker by process version, red when the lot
    is out of specification) and the specification limits as dashed lines.

    Parameters
    ----------
    points : sequence of dict
        The document's ``quality.lot_series`` rows (``attribute, lot, manufactured_on,
        process_version, value, lower, upper, oos``); rows without a number are skipped.
    columns : int
        Panels per row.
    title : str, optional
    """
    by_attr: dict[str, list[Mapping[str, Any]]] = {}
    for p in points:
        if p.get("value") is not None and p.get("manufactured_on"):
            by_attr.setdefault(str(p["attribute"]), []).append(p)
    n = max(len(by_attr), 1)
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    versions = sorted({str(p.get("process_version")) for v in by_attr.values() for p in v})
    with _fonts():
        fig = _figure(3.6 * cols, 2.1 * rows + 0.4)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.ravel()[len(by_attr):]:
            ax.set_visible(False)
        for ax, (attr, pts) in zip(axes.ravel(), by_attr.items(), strict=False):
            x = _dates([p["manufactured_on"] for p in pts])
            y = np.array([_num(p["value"]) for p in pts])
            oos = np.array([bool(p.get("oos")) for p in pts])
            ver = np.array([str(p.get("process_version")) for p in pts])
            for i, v in enumerate(versions):
                m = (ver == v) & ~oos
                ax.scatter(x[m], y[m], s=9, marker=_VERSION_MARKERS[i % len(_VERSION_MARKERS)],
                           color=TREATED_COLOR, alpha=0.75, linewidths=0,
                           label=f"process {v}" if len(versions) > 1 else None)
            ax.scatter(x[oos], y[oos], s=22, color=_OOS_COLOR, marker="x",
                       label="out of specification")
            for key in ("lower", "upper"):
                lim = next((_num(p.get(key)) for p in pts if p.get(key) is not None), math.nan)
                if math.isfinite(lim):
                    ax.axhline(lim, color=_OOS_COLOR, linestyle="--", linewidth=0.8)
            ax.set_title(attr, fontsize=9)
            ax.tick_params(axis="x", labelsize=7, rotation=30)
            ax.tick_params(axis="y", labelsize=7)
        handles, labels = axes.ravel()[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncol=len(handles),
                       fontsize=7, frameon=False)
        fig.suptitle(title or "Release results by lot over manufacturing time "
                     "(dashed: specification limits)", fontsize=10)
    return fig


def cqa_forest(rows: Sequence[Mapping[str, Any]], *, scale: str = "",
               q_threshold: float = 0.05, title: str | None = None) -> Any:
    """Forest plot of the CQA screen: estimate and CI per attribute, q-value at the right.

    Parameters
    ----------
    rows : sequence of dict
        The document's ``quality.cqa.estimates`` rows; attributes with ``q_value`` below
        ``q_threshold`` are drawn filled, the others hollow.
    scale : str
        What the estimate measures (``quality.cqa.options.scale``), for the axis label.
    """
    rows = [r for r in rows if r.get("estimate") is not None]
    with _fonts():
        fig = _figure(6.4, 0.34 * max(len(rows), 1) + 1.1)
        ax = fig.subplots()
        for i, r in enumerate(rows):
            y = len(rows) - 1 - i
            est, lo, hi = _num(r["estimate"]), _num(r.get("ci_lower")), _num(r.get("ci_upper"))
            q = r.get("q_value")
            hit = q is not None and float(q) < q_threshold
            ax.plot([lo, hi], [y, y], color=TREATED_COLOR, linewidth=1.2)
            ax.plot([est], [y], marker="s", markersize=6, color=TREATED_COLOR,
                    markerfacecolor=TREATED_COLOR if hit else "white")
            label = f"q = {float(q):.3g}" if q is not None else "q = —"
            ax.annotate(label, (1.01, y), xycoords=("axes fraction", "data"), fontsize=7,
                        va="center", color="black" if hit else _GREY)
        ax.axvline(0.0, color=_GREY, linewidth=0.8)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([str(r["attribute"]) + (" *" if r.get("planned") else "")
                            for r in reversed(rows)], fontsize=8)
        ax.set_xlabel(f"Estimate per SD of the attribute ({scale})" if scale
                      else "Estimate per SD of the attribute")
        ax.set_title(title or "Lot attributes and clinical response (* pre-specified)",
                     fontsize=10)
    return fig


def composition_bars(rows: Sequence[Mapping[str, Any]], lot_values: Mapping[str, Any],
                     *, highlight: str | None = None, covariate: str = "potency",
                     title: str | None = None) -> Any:
    """Cluster composition of each lot as stacked bars, lots ordered by the covariate.

    Parameters
    ----------
    rows : sequence of dict
        The document's ``quality.singlecell.composition`` rows (``lot, cluster,
        proportion``).
    lot_values : mapping
        Lot → covariate (``quality.singlecell.association.lot_values``); lots without a
        value are drawn last.
    highlight : str, optional
        A cluster (the top association) drawn with a black edge.
    """
    shares: dict[str, dict[str, float]] = {}
    for r in rows:
        shares.setdefault(str(r["lot"]), {})[str(r["cluster"])] = _num(r["proportion"])
    clusters = sorted({c for v in shares.values() for c in v},
                      key=lambda c: (len(c), c))
    lots = sorted(shares, key=lambda lot: (lot not in lot_values,
                                           _num(lot_values.get(lot, 0.0)), lot))
    cmap = matplotlib.colormaps["tab20"]
    with _fonts():
        fig = _figure(max(4.0, 0.32 * len(lots) + 2.2), 3.4)
        ax = fig.subplots()
        bottom = np.zeros(len(lots))
        for i, c in enumerate(clusters):
            h = np.array([shares[lot].get(c, 0.0) for lot in lots])
            edge = "black" if c == highlight else "none"
            ax.bar(range(len(lots)), h, bottom=bottom, color=cmap(i % 20), label=c,
                   edgecolor=edge, linewidth=1.0 if c == highlight else 0)
            bottom += h
        ax.set_xticks(range(len(lots)))
        ax.set_xticklabels([f"{lot}\n{_num(lot_values[lot]):.3g}" if lot in lot_values
                            else lot for lot in lots], fontsize=6, rotation=90)
        ax.set_ylabel("Share of cells")
        ax.set_ylim(0, 1)
        fig.legend(fontsize=6, ncol=1, loc="outside right upper", frameon=False,
                  title="cluster", title_fontsize=7)
        ax.set_title(title or f"Cluster composition by lot, ordered by {covariate}",
                     fontsize=10)
    return fig
