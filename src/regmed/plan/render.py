"""The plan document: the plan and its checklist as HTML (Japanese or English), and PDF.

The HTML uses a generic font stack (no fonts are bundled). The PDF is printed by headless
Chromium when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2

from regmed.errors import PlanError
from regmed.plan import labels
from regmed.plan.findings import Checklist, Finding
from regmed.plan.lock import LockStatus, plan_sha256
from regmed.plan.model import Plan

__all__ = ["render_plan", "write_plan_document", "html_to_pdf", "find_chromium"]

#: Which plan blocks are shown under which index item.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1", ("sample_size",)),
    ("2", ("sites",)),
    ("3", ("endpoints", "achievement_criteria")),
    ("4", ("randomization",)),
    ("5", ("blinding",)),
    ("6", ("controls", "control_justification", "treated_period")),
    (
        "7",
        (
            "use_results_survey_justification",
            "quality_efficacy_analyses",
            "quality_understanding",
            "management_plan",
        ),
    ),
)

_TEXT = {
    "heading": (
        "製造販売後承認条件評価計画（有効性評価計画）",
        "Post-marketing efficacy evaluation plan",
    ),
    "t_overview": ("概要", "Overview"),
    "t_none": ("記載なし", "not stated"),
    "t_item": ("項目", "Item"),
    "t_checked": ("確認事項", "What was checked"),
    "t_status": ("判定", "Status"),
    "t_message": ("所見", "Finding"),
    "t_reference": ("評価指標の該当箇所", "Index section"),
    "t_source": ("対象", "Checked"),
    "t_summary": ("チェック結果", "Checklist"),
    "t_checklist": ("チェックリスト", "Checklist"),
    "t_checklist_all": ("チェックリスト（全項目）", "Checklist (all items)"),
    "t_analyses": (
        "解析計画（部分集団・欠測・感度分析）",
        "Analyses (subgroups, missing data, sensitivity)",
    ),
    "t_source_note": (
        "評価指標：ヒト MSC 加工製品の条件及び期限付承認並びにその後の有効性評価計画に関する"
        "評価指標 6.（１）～（７）",
        "Index: MHLW evaluation index for MSC products, section 6 (1)–(7)",
    ),
}


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("regmed.plan", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_plan(
    plan: Plan,
    checklist: Checklist,
    lang: str = "ja",
    *,
    lock: LockStatus | None = None,
) -> str:
    """Render the plan with its checklist as a self-contained HTML page.

    Parameters
    ----------
    plan : Plan
    checklist : Checklist
        From :func:`regmed.plan.check_plan`.
    lang : {"ja", "en"}
        Language of every label (free text in the plan is shown as written).
    lock : LockStatus, optional
        Printed as a banner (LOCKED version … / EXPLORATORY).

    Returns
    -------
    str
        The HTML document.
    """
    if lang not in ("ja", "en"):
        raise PlanError(f"Unknown language {lang!r}: use ja or en")
    i = 0 if lang == "ja" else 1
    by_item: dict[str, list[Finding]] = {}
    for f in checklist.findings:
        by_item.setdefault(f.item, []).append(f)
    template = _env().get_template("plan.html.j2")
    return template.render(
        lang=lang,
        data=plan.model_dump(mode="json"),
        sections=SECTIONS,
        findings=checklist.findings,
        by_item=by_item,
        counts=checklist.counts(),
        sha256=plan_sha256(plan),
        lock=lock,
        field=lambda k: labels.field_label(str(k), lang),
        val=lambda v, k=None: labels.value_label(v, lang, k),
        point=lambda item, p: labels.point_label(item, p, lang),
        status=lambda s: labels.status_label(s, lang),
        item_title=lambda item: labels.item_label(item, lang),
        **{k: v[i] for k, v in _TEXT.items()},
    )


def find_chromium() -> str | None:
    """Path of a headless-capable Chromium, or ``None``."""
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None) -> Path:
    """Print an HTML file to PDF with headless Chromium.

    Raises
    ------
    PlanError
        When Chromium is not installed or fails.
    """
    exe = chromium or find_chromium()
    if exe is None:
        raise PlanError("Cannot write a PDF: Chromium is not installed")
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf_path}",
        Path(html_path).resolve().as_uri(),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlanError(f"Chromium could not print the PDF: {exc}") from None
    if proc.returncode != 0 or not Path(pdf_path).is_file():
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise PlanError("Chromium could not print the PDF: " + " | ".join(tail))
    return Path(pdf_path)


def write_plan_document(
    plan: Plan,
    checklist: Checklist,
    out_dir: Path,
    lang: str = "ja",
    *,
    pdf: bool | None = None,
    lock: LockStatus | None = None,
) -> list[Path]:
    """Write ``plan.html`` (and ``plan.pdf`` when Chromium exists) into ``out_dir``.

    Parameters
    ----------
    pdf : bool, optional
        ``None`` (default): a PDF when Chromium is installed; ``True``: require it;
        ``False``: HTML only.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "plan.html"
    html_path.write_text(render_plan(plan, checklist, lang, lock=lock), encoding="utf-8")
    written = [html_path]
    if pdf is None:
        pdf = find_chromium() is not None
    if pdf:
        written.append(html_to_pdf(html_path, out_dir / "plan.pdf"))
    return written
