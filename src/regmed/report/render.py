"""Render an evaluation document to one self-contained HTML file.

The page holds everything: CSS inline, figures as base64 PNG. The sections come in a fixed
order, the verdict first (one table, ``id="verdict-table"``). Every label comes from
:mod:`regmed.report.labels`; numbers are only formatted, never computed.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure

from regmed.document import RATIO_MEASURES, validate_document
from regmed.report import figures
from regmed.report.labels import labels_for
from regmed.report.quality_blocks import quality_blocks

__all__ = ["render_html", "figure_to_png", "FONT_STACK"]

_HERE = Path(__file__).parent

#: CSS font stack: Latin fonts first, then the Japanese fonts found on common systems.
FONT_STACK = ('"Liberation Sans", "DejaVu Sans", Arial, "Noto Sans CJK JP", "Noto Sans JP", '
              '"IPAexGothic", "IPAGothic", "Hiragino Sans", "Yu Gothic", Meiryo, '
              '"Droid Sans Fallback", sans-serif')


def figure_to_png(fig: Figure, *, dpi: int = 150) -> bytes:
    """Return the PNG bytes of a figure (rendered on its Agg canvas)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _data_uri(fig: Figure) -> str:
    return "data:image/png;base64," + base64.b64encode(figure_to_png(fig)).decode("ascii")


# ------------------------------------------------------------------------------ formatting


def fmt(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals (a dash for null, no negative zero)."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return str(x)
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_pct(x: Any, digits: int = 0) -> str:
    """A 0–1 proportion as a percentage."""
    return "—" if x is None else f"{100 * float(x):.{digits}f}%"


def fmt_p(p: Any) -> str:
    """A p-value: three decimals, ``<0.001`` below that."""
    if p is None:
        return "—"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def fmt_ci(est: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    """``estimate (lower, upper)``."""
    return f"{fmt(est, digits)} ({fmt(lo, digits)}, {fmt(hi, digits)})"


def fmt_mean(x: Any, binary: bool) -> str:
    """A baseline mean, or a proportion shown in percent for a binary covariate."""
    return fmt_pct(x, 1) if binary else fmt(x, 1)


def _digits(measure: str) -> int:
    return 1 if measure == "mean_difference" else 2


# ------------------------------------------------------------------------------- context


def _criterion_text(c: Mapping[str, Any], level: float, L: Mapping[str, str]) -> str:
    lvl = f"{100 * level:g}%"
    digits = _digits(c["measure"])
    parts = []
    if c.get("threshold") is not None:
        parts.append(L["crit_pt_" + c["direction"]].format(
            level=lvl, threshold=fmt(c["threshold"], digits)))
    if c.get("ci_lower_above") is not None:
        parts.append(L["crit_ci_greater"].format(level=lvl,
                                                 threshold=fmt(c["ci_lower_above"], digits)))
    if c.get("ci_upper_below") is not None:
        parts.append(L["crit_ci_less"].format(level=lvl,
                                              threshold=fmt(c["ci_upper_below"], digits)))
    return f"{figures.measure_label(c['measure'])}: " + L["crit_and"].join(parts)


def _threshold_for(analysis: Mapping[str, Any], criteria: list[Any]) -> float | None:
    for c in criteria:
        if (c["endpoint"] == analysis["endpoint"] and c["measure"] == analysis["effect"]["measure"]
                and c.get("control_source", analysis["control_source"])
                == analysis["control_source"]) and c["threshold"] is not None:
            return float(c["threshold"])
    return None


def _analysis_title(a: Mapping[str, Any], L: Mapping[str, str]) -> str:
    return (f"{a['endpoint']} — {L['source_' + a['control_source']]} "
            f"({L['method_' + a['method']]})")


def _designs(doc: Mapping[str, Any], L: Mapping[str, str]) -> list[dict[str, Any]]:
    """Group analyses that share one propensity design (same controls, method, model and
    balance) so that each balance table, love plot and PS figure is shown once."""
    groups: dict[str, dict[str, Any]] = {}
    for i, a in enumerate(doc["analyses"]):
        if a["propensity"] is None and not a["balance"]:  # unadjusted or single arm
            continue
        key = json.dumps([a["control_source"], a["method"], a["propensity"], a["balance"]],
                         sort_keys=True)
        if key not in groups:
            title = f"{L['source_' + a['control_source']]} · {L['method_' + a['method']]}"
            title = title[:1].upper() + title[1:]
            groups[key] = {"index": len(groups), "title": title, "analysis": a,
                           "endpoints": [], "analysis_ids": []}
        groups[key]["endpoints"].append(a["endpoint"])
        groups[key]["analysis_ids"].append(i)
    out = list(groups.values())
    for g in out:
        a = g["analysis"]
        short = f"{a['control_source']} controls, {a['method']}"
        g["love_plot"] = _data_uri(figures.love_plot(a["balance"], title=f"Balance: {short}"))
        g["ps_distribution"] = None if a["propensity"] is None else _data_uri(
            figures.ps_distribution(a["propensity"]["distribution"],
                                    bins=a["propensity"].get("bins", 25),
                                    title=f"Propensity scores: {short}"))
    return out


def _analyses(doc: Mapping[str, Any], L: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    criteria = doc["verdict"]["criteria"]
    for i, a in enumerate(doc["analyses"]):
        eff = a["effect"]
        threshold = _threshold_for(a, criteria)
        forest = figures.forest_plot(eff, a["by_site"], a["subgroups"], n_treated=a["n_treated"],
                                     n_control=a["n_control"], threshold=threshold,
                                     title=f"{a['endpoint']} ({a['control_source']} controls)")
        km = None
        if a["kind"] == "survival" and a["km"]:
            km = _data_uri(figures.km_plot(a["km"], title=a["endpoint"],
                                           ylabel="Proportion without event"))
        out.append({"id": i, "a": a, "title": _analysis_title(a, L),
                    "digits": _digits(eff["measure"]),
                    "measure": figures.measure_label(eff["measure"]),
                    "ratio": eff["measure"] in RATIO_MEASURES,
                    "forest": _data_uri(forest), "km": km})
    return out


def _css_string(text: str) -> str:
    """Escape text for a double-quoted CSS string: other than letters, digits and simple
    punctuation, every character becomes a 6-digit CSS escape ended by the space it eats."""
    return "".join(ch if ch.isascii() and ch.isalnum() or ch in " -.,:;()" else
                   f"\\{ord(ch):06x} " for ch in text)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, pct=fmt_pct, p=fmt_p, ci=fmt_ci, mean=fmt_mean)
    return env


def render_html(doc: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render the evaluation document as one self-contained HTML page.

    Sections, in order: verdict (one table, ``id="verdict-table"``, with the power shortfall
    when there is one), plan summary and checklist, attrition flow, comparability (baseline
    table before/after, love plot, PS distributions), effects (table and forest plots), Kaplan–
    Meier curves, sensitivity (with E-values), quality↔response, provenance. An EXPLORATORY
    banner and a watermark repeated on every printed page mark exploratory evaluations.

    Parameters
    ----------
    doc : dict
        The evaluation document (see :mod:`regmed.document`); validated first.
    lang : {"en", "ja"}
        Language of all labels. Figures keep English axis labels.

    Returns
    -------
    str
        The HTML text.

    Raises
    ------
    regmed.errors.DataError
        When the document does not follow the schema (every problem with its key path).
    regmed.errors.RegmedError
        For an unknown language.

    Examples
    --------
    >>> import json
    >>> from regmed.report import render_html
    >>> html = render_html(json.load(open("evaluation.json")), lang="ja")  # doctest: +SKIP
    """
    L = labels_for(lang)
    validate_document(doc)
    criteria_rows = []
    for c in doc["verdict"]["criteria"]:
        level = 0.95
        for a in doc["analyses"]:
            if a["endpoint"] == c["endpoint"] and a["effect"]["measure"] == c["measure"]:
                level = float(a["effect"].get("ci_level", 0.95))
                break
        criteria_rows.append({"c": c, "text": _criterion_text(c, level, L),
                              "digits": _digits(c["measure"])})
    power = doc["power"]
    shortfall_text = L["shortfall_text"].format(
        n_treated=power["n_treated"], planned_n_treated=power["planned_n_treated"],
        n_control=power["n_control"], planned_n_control=power["planned_n_control"],
        achieved_power=fmt_pct(power["achieved_power"]),
        planned_power=fmt_pct(power["planned_power"]))
    context = {
        "L": L, "lang": lang, "doc": doc, "meta": doc["meta"], "plan": doc["meta"]["plan"],
        "verdict": doc["verdict"], "criteria": criteria_rows, "power": power,
        "shortfall_text": shortfall_text,
        "attrition_figure": (_data_uri(figures.attrition_diagram(
            doc["attrition"])) if doc["attrition"] else None),
        "designs": _designs(doc, L), "analyses": _analyses(doc, L),
        "quality_blocks": quality_blocks(doc["quality"], L),
        "css": (_HERE / "static" / "report.css").read_text(encoding="utf-8"),
        "font_stack": FONT_STACK,
        "exploratory_css": _css_string(L["exploratory_banner"]),
    }
    context["survival"] = [a for a in context["analyses"] if a["km"]]
    return _environment().get_template("report.html.j2").render(**context)
