"""The quality section's blocks: one context builder and one template partial each.

Every block is a pair ``(name, build)`` in :data:`QUALITY_BLOCKS`; ``build(quality, L)``
returns the partial's context (or ``None`` to leave the block out) and the partial is
``templates/quality/_<name>.html.j2``. A further sub-section (single-cell composition, say)
is one more key in the document's ``quality`` dict, one more partial and one more entry
here — the evaluation report and the standalone ``regmed quality report`` both pick it up.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from typing import Any

from matplotlib.figure import Figure

from regmed.report.quality_figures import composition_bars, cqa_forest, lot_series_plot

__all__ = ["QUALITY_BLOCKS", "quality_blocks"]

Build = Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, Any] | None]


def _uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _specs(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    spec = q.get("specifications")
    if spec is None:
        return None
    return {"spec": spec, "flagged": q.get("flagged_patients", []),
            "summary": L["q_specs_summary"].format(n_oos=len(spec["oos_lots"]),
                                                   n_lots=spec["n_lots"])}


def _series(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    points = [p for p in q.get("lot_series", []) if p.get("value") is not None]
    if not points:
        return None
    return {"figure": _uri(lot_series_plot(points))}


def _cqa(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    cqa = q.get("cqa")
    if not cqa or not cqa["estimates"]:
        return None
    scale = str(cqa["options"].get("scale", ""))
    return {"rows": cqa["estimates"], "note": L["q_cqa_note"].format(scale=scale),
            "forest": _uri(cqa_forest(cqa["estimates"], scale=scale))}


def _potency(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    pot = q.get("potency")
    if not pot or not pot["estimates"]:
        return None
    name = str(pot["options"].get("potency", ""))
    response = next((r for r in q.get("cqa", {}).get("estimates", [])
                     if r["attribute"] == name), None)
    return {"rows": pot["estimates"], "potency": name, "response": response,
            "note": L["q_potency_note"].format(potency=name)}


def _strata(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    rs = q.get("responder_strata")
    return {"rows": rs["strata"]} if rs and rs["strata"] else None


def _variance(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    rows = q.get("variance_components") or []
    return {"rows": rows} if rows else None


def _control(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    charts = q.get("control_charts") or {}
    if not charts:
        return None
    rows = []
    for attribute, c in charts.items():
        rules = sorted({r for s in c["signals"] for r in str(s["rules"]).split(",") if r})
        rows.append({"attribute": attribute, "center": c["center"], "lcl": c["lcl"],
                     "ucl": c["ucl"], "n_signals": len(c["signals"]),
                     "rules": ", ".join(rules)})
    return {"rows": rows}


def _comparability(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    cmp = q.get("comparability")
    if not cmp:
        return None
    return {"rows": cmp["estimates"], "head": L["q_comparability_head"].format(
        reference=cmp["reference"], candidate=cmp["candidate"])}


def _tertiles(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    blocks: dict[str, list[Any]] = {}
    for row in q.get("tables", []):
        blocks.setdefault(row["attribute"], []).append(row)
    if not blocks:
        return None
    return {"groups": [{"attribute": k, "rows": sorted(v, key=lambda r: r["tertile"])}
                       for k, v in blocks.items()], "note": q.get("note", "")}


def _singlecell(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    sc = q.get("singlecell")
    if not sc:
        return None
    assoc = sc["association"]
    top = assoc.get("top")
    fig = composition_bars(sc["composition"], assoc.get("lot_values") or {}, highlight=top,
                           covariate=assoc["covariate"])
    mdr = assoc.get("min_detectable_r")
    return {"sc": sc, "rows": assoc["rows"], "top": top,
            "top_markers": (sc["markers"].get(top) or [])[:10] if top is not None else [],
            "outliers": [r["lot"] for r in sc["deviation"]["rows"] if r["outlier"]],
            "summary": L["q_sc_summary"].format(
                n_cells=sc["n_cells"], n_lots=sc["n_lots"], n_clusters=len(sc["clusters"]),
                method=assoc["method"], covariate=assoc["covariate"],
                mdr="—" if mdr is None else f"{float(mdr):.2f}"),
            "figure": _uri(fig)}


def _notes(q: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, Any] | None:
    notes = list(q.get("notes", [])) + list(q.get("warnings", []))
    return {"notes": notes} if notes else None


#: The blocks of the quality section, in the order they are shown.
QUALITY_BLOCKS: list[tuple[str, Build]] = [
    ("specs", _specs), ("series", _series), ("cqa", _cqa), ("potency", _potency),
    ("strata", _strata), ("variance", _variance), ("control", _control),
    ("comparability", _comparability), ("singlecell", _singlecell), ("tertiles", _tertiles),
    ("notes", _notes),
]


def quality_blocks(quality: Mapping[str, Any], L: Mapping[str, str]) -> list[dict[str, Any]]:
    """The blocks to show for a document's ``quality`` part: ``name``, ``template`` and
    the block's context under ``b``."""
    out = []
    for name, build in QUALITY_BLOCKS:
        ctx = build(quality, L)
        if ctx is not None:
            out.append({"name": name, "template": f"quality/_{name}.html.j2", "b": ctx})
    return out
