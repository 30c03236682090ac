"""Figures of a lot analysis; each returns a :class:`matplotlib.figure.Figure` (Agg canvas).

None shows or saves anything and none touches pyplot's global state (DESIGN.md convention 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from regmed.singlecell.association import CompositionAssociation
from regmed.singlecell.composition import Composition

__all__ = ["umap_figure", "composition_figure", "association_figure"]

#: At most this many cells are drawn on a UMAP (a seeded sample; the figure says so).
MAX_POINTS = 50_000


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def umap_figure(adata: Any, color: str, *, title: str | None = None, seed: int = 0) -> Figure:
    """UMAP of the cells coloured by ``obs[color]`` (categories), with a legend."""
    xy = np.asarray(adata.obsm["X_umap"])
    labels = adata.obs[color].astype(str).to_numpy()
    idx = np.arange(xy.shape[0])
    if idx.size > MAX_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, MAX_POINTS, replace=False))
    cats = pd.unique(pd.Series(adata.obs[color]).astype(str)) if not isinstance(
        adata.obs[color].dtype, pd.CategoricalDtype) else adata.obs[color].cat.categories
    cats = [str(c) for c in cats]
    fig = _figure(7.0, 5.5)
    ax = fig.add_subplot()
    size = max(0.5, min(8.0, 20000 / max(idx.size, 1)))
    for c, col in zip(cats, _palette(len(cats)), strict=True):
        m = idx[labels[idx] == c]
        ax.scatter(xy[m, 0], xy[m, 1], s=size, color=col, label=c, linewidths=0, rasterized=True)
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_xticks([])
    ax.set_yticks([])
    shown = "" if idx.size == xy.shape[0] else f" ({idx.size:,} of {xy.shape[0]:,} cells)"
    ax.set_title((title or f"UMAP by {color}") + shown)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=max(1, 6 / size),
              frameon=False, fontsize=8, title=color)
    return fig


def composition_figure(composition: Composition, potency: pd.Series | None = None, *,
                       title: str | None = None) -> Figure:
    """Stacked bars of cluster shares per lot, lots ordered by increasing ``potency``."""
    props = composition.proportions
    lots = list(props.index)
    if potency is not None:
        pot = potency.copy()
        pot.index = pot.index.astype(str)
        lots = sorted(lots, key=lambda lot: (pot.get(lot, np.inf), lot))
    props = props.loc[lots]
    fig = _figure(max(6.0, 0.45 * len(lots) + 3), 4.5)
    ax = fig.add_subplot()
    bottom = np.zeros(len(lots))
    for c, col in zip(props.columns, _palette(props.shape[1]), strict=True):
        ax.bar(range(len(lots)), props[c].to_numpy(), bottom=bottom, color=col, label=str(c),
               width=0.85)
        bottom += props[c].to_numpy()
    names = lots if potency is None else [f"{lot}\n{pot.get(lot, np.nan):.3g}" for lot in lots]
    ax.set_xticks(range(len(lots)), names, fontsize=7, rotation=0 if len(lots) < 16 else 90)
    ax.set_ylabel("share of cells")
    ax.set_ylim(0, 1)
    ax.set_xlabel("lot" + ("" if potency is None else f" (ordered by {pot.name or 'potency'})"))
    ax.set_title(title or "Cluster composition per lot")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8,
              title="cluster")
    return fig


def association_figure(association: CompositionAssociation, *, n_show: int = 3,
                       title: str | None = None) -> Figure:
    """Left: each cluster's estimate (filled when q < 0.05). Right: the top clusters'
    transformed share against the covariate, one line per cluster."""
    table = association.table
    values = association.values
    cov = association.options["covariate"]
    fig = _figure(11.0, 4.5)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    order = table.sort_values("estimate")
    colors = ["#b2182b" if q < 0.05 else "#bdbdbd" for q in order["q_value"]]
    left.barh(order["cluster"].astype(str), order["estimate"], color=colors)
    left.axvline(0, color="black", lw=0.8)
    mdr = association.min_detectable_r
    if np.isfinite(mdr):
        for s in (-mdr, mdr):
            left.axvline(s, color="#4393c3", lw=0.8, ls="--")
    left.set_xlim(-1, 1)
    left.set_xlabel(f"correlation with {cov} ({association.options['method']})")
    left.set_ylabel("cluster")
    left.set_title("estimate; red: q < 0.05; dashed: minimum detectable |r|", fontsize=9)
    x = values[cov].to_numpy()
    for c, col in zip(table["cluster"].head(n_show), _palette(n_show), strict=False):
        y = values[c].to_numpy()
        right.scatter(x, y, color=col, label=f"cluster {c}", s=25)
        if np.std(x) > 0:
            b, a = np.polyfit(x, y, 1)
            xs = np.linspace(x.min(), x.max(), 20)
            right.plot(xs, a + b * xs, color=col, lw=1)
    right.set_xlabel(cov)
    right.set_ylabel(f"{association.options['method']} of share")
    right.legend(frameon=False, fontsize=8)
    right.set_title("top clusters across lots", fontsize=9)
    fig.suptitle(title or f"Cluster composition ↔ {cov}")
    return fig
