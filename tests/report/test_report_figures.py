"""The figure functions: each returns a Figure with the document's content drawn on it."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from regmed.report import (
    attrition_diagram,
    figure_to_png,
    forest_plot,
    km_plot,
    love_plot,
    ps_distribution,
)


def ink(fig: Figure) -> float:
    """Share of pixels that are not (near) white in the rendered PNG."""
    png = figure_to_png(fig, dpi=60)
    arr = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float((arr < 200).mean())


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_love_plot_has_one_row_per_covariate(sample_doc):
    balance = sample_doc["analyses"][0]["balance"]
    fig = love_plot(balance, title="Balance")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(b["covariate"] for b in balance)
    # largest imbalance before adjustment on top
    top = max(balance, key=lambda b: abs(b["smd_before"]))
    assert labels[-1] == top["covariate"]
    before = ax.collections[0].get_offsets()[:, 0]
    assert np.allclose(sorted(before), sorted(abs(b["smd_before"]) for b in balance))
    assert ink(fig) > 0.02


def test_ps_distribution_before_and_after(sample_doc):
    propensity = sample_doc["analyses"][1]["propensity"]  # weighting: binned, with weights
    dist = propensity["distribution"]
    fig = ps_distribution(dist, bins=propensity["bins"])
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["Before adjustment", "After adjustment"]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    n_t = sum([d for d in dist if d["group"] == "treated" and d["stage"] == "before"][0]["counts"])
    assert f"Treated (n = {n_t})" in legend
    # the stored bins are drawn as they are: a density that integrates to one per group
    treated = fig.axes[0].patches[0]
    heights = treated.get_data().values
    assert len(heights) == len(propensity["bins"]) - 1
    assert np.isclose(float(np.sum(heights * np.diff(propensity["bins"]))), 1.0)
    assert ink(fig) > 0.05


def test_ps_distribution_of_an_older_document_with_scores():
    # documents stored before the histogram held one score (and weight) per patient: still
    # drawn, binned into equal-width bins on [0, 1]
    rng = np.random.default_rng(7)
    dist = [{"group": g, "stage": s, "ps": rng.beta(a, b, n).round(3).tolist()}
            for g, a, b, n in (("treated", 4, 3, 40), ("control", 3, 4, 60))
            for s in ("before", "after")]
    dist[3]["weights"] = rng.uniform(0.5, 2, 60).tolist()
    fig = ps_distribution(dist)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Treated (n = 40)", "Control (n = 60)"]
    heights = fig.axes[0].patches[0].get_data().values
    assert len(heights) == 25 and np.isclose(float(np.sum(heights)) / 25, 1.0)
    assert ink(fig) > 0.05


def test_forest_plot_rows_scale_and_threshold(sample_doc):
    a = sample_doc["analyses"][0]
    fig = forest_plot(a["effect"], a["by_site"], a["subgroups"], n_treated=104, n_control=104,
                      threshold=0.05)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    n_headers = 1 + len({g["subgroup"] for g in a["subgroups"]})
    assert len(labels) == 1 + n_headers + len(a["by_site"]) + len(a["subgroups"])
    assert labels[0] == "Overall" and labels[-1] == "Thoracolumbar"
    ticks = ax.get_yticks()
    assert ticks[0] == max(ticks)  # overall row drawn on top
    assert ax.get_xscale() == "linear"
    assert "0.21 (0.08, 0.34)" in texts(fig)
    assert any("Achievement threshold" in t for t in texts(fig))
    hr = sample_doc["analyses"][4]
    fig_hr = forest_plot(hr["effect"], hr["by_site"], hr["subgroups"])
    assert fig_hr.axes[0].get_xscale() == "log"
    assert ink(fig_hr) > 0.02


def test_forest_plot_with_missing_estimates(sample_doc):
    a = sample_doc["analyses"][0]
    a["by_site"][0].update(estimate=None, ci_lower=None, ci_upper=None)
    fig = forest_plot(a["effect"], a["by_site"], [])
    assert "— (—, —)" in texts(fig)


def test_km_plot_draws_each_group(sample_doc):
    km = sample_doc["analyses"][4]["km"]
    fig = km_plot(km, title="Time to first AIS improvement")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["Treated", "Control"]
    treated = [r for r in km if r["group"] == "treated"]
    assert np.allclose(ax.get_lines()[0].get_ydata(), [r["surv"] for r in treated])
    assert ink(fig) > 0.02


def test_attrition_diagram_shows_every_count(sample_doc):
    rows = sample_doc["attrition"]
    fig = attrition_diagram(rows)
    shown = "\n".join(texts(fig))
    for r in rows:
        if r["n_excluded"]:
            assert f"Excluded n = {r['n_excluded']}" in shown
            assert f"n = {r['n_after']}" in shown
    assert "Treated" in shown and "Historical controls" in shown
    assert ink(fig) > 0.02


def test_figures_do_not_touch_pyplot():
    code = ("import json, regmed.report as rr, sys; "
            "rr.km_plot([{'group': 'treated', 'time': 0, 'surv': 1, 'lower': 1, 'upper': 1}]); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
