"""Use case: the lot quality report from the registry (quality.json, quality.html/pdf)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regmed.errors import DataError, Problem

__all__ = ["quality_report", "read_quality_data"]


def read_quality_data(url: str | None, plan: str | None, version: int | None = None
                      ) -> tuple[Any, Any, dict[str, Any] | None]:
    """Registry → (StudyData, plan model or None, plan info) for the quality analyses.

    ``plan`` is a locked plan name or a plan YAML file (a file need not be locked: the
    quality report is descriptive of the registry and says which plan text it followed).
    """
    import pandas as pd

    from regmed import registry
    from regmed.plan import load_plan, plan_sha256
    from regmed.registry.derive import build_study_data
    from regmed.registry.extract import _with_refs
    from regmed.registry.io import export_frames
    from regmed.registry.opening import open_registry
    from regmed.registry.plans import get_plan_version
    from regmed.studydata import StudyData

    engine = open_registry(url)
    model: Any = None
    info: dict[str, Any] | None = None
    try:
        with registry.session_scope(engine) as session:
            if plan is not None:
                path = Path(plan)
                if path.suffix in {".yaml", ".yml"} or path.exists():
                    if not path.exists():
                        raise DataError("The plan file was not found",
                                        [Problem("no such file", file=str(path))])
                    text = path.read_text(encoding="utf-8")
                    model = load_plan(text, file=str(path))
                    info = {"name": path.stem, "version": "file", "sha256": plan_sha256(text)}
                else:
                    record = get_plan_version(session, plan, version)
                    model = load_plan(record.yaml_text, file=record.name)
                    info = {"name": record.name, "version": str(record.version),
                            "sha256": record.sha256}
            tables = _with_refs(export_frames(session))
    finally:
        engine.dispose()
    if not any(len(tables.get(t, ())) for t in ("lot_results", "quality_attributes")):
        raise DataError("The registry holds no lot quality data", [
            Problem("table is empty", field=t) for t in ("quality_attributes", "lot_results")])
    if len(tables.get("patients", ())) and len(tables.get("enrollments", ())):
        data = build_study_data(tables, model)
    else:  # lots only, no patients yet: the lot-level parts still run
        from regmed.registry.derive import _quality_tables
        from regmed.studydata import frame_hash

        quality = _quality_tables(tables)
        patients = pd.DataFrame({"cohort": pd.Series(dtype=str)})
        data = StudyData(patients=patients, attrition=pd.DataFrame(), endpoints={}, facts={},
                         data_hash=frame_hash(*quality.values()), quality=quality)
    return data, model, info


def quality_report(*, out: Path, plan: str | None = None, version: int | None = None,
                   lang: str = "en", pdf: bool = True, url: str | None = None,
                   singlecell: dict[str, Any] | None = None
                   ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Compute the quality document from the registry and write quality.json/html(/pdf).

    ``singlecell`` (keys ``h5ad, from_registry, lots, potency_csv, potency_attribute,
    lot_key, method, seed``) adds the single-cell section; without a potency source it takes
    the potency attribute of the plan's quality analyses.
    """
    from regmed.app.evaluation import write_document
    from regmed.document.quality import validate_quality_document
    from regmed.evaluate.quality_part import quality_document
    from regmed.report.quality_page import write_quality_report

    data, model, info = read_quality_data(url, plan, version)
    doc = quality_document(model, data, plan_info=info)
    if singlecell is not None:
        doc["quality"]["singlecell"] = _singlecell_part(doc, singlecell, url)
    validate_quality_document(doc)       # nothing is written unless the document is valid
    return doc, write_document(doc, out, "quality", write_quality_report, lang=lang, pdf=pdf)


def _singlecell_part(doc: dict[str, Any], opts: dict[str, Any], url: str | None
                     ) -> dict[str, Any]:
    """Run :func:`regmed.singlecell.analyze_lots` for the report's single-cell block."""
    from regmed.app.singlecell_inputs import load_inputs

    attribute = opts.get("potency_attribute")
    if attribute is None and opts.get("potency_csv") is None:
        attribute = doc["quality"].get("potency", {}).get("options", {}).get("potency")
        if attribute is None:
            raise DataError("The single-cell section needs a lot covariate", [Problem(
                "give --singlecell-potency CSV or --singlecell-potency-attribute, or a plan "
                "whose quality analyses name a potency attribute", field="singlecell")])
    lot_key = str(opts.get("lot_key") or "lot")
    adata, potency = load_inputs(
        h5ad=opts.get("h5ad"), from_registry=bool(opts.get("from_registry")),
        lots=opts.get("lots"), potency_csv=opts.get("potency_csv"),
        potency_attribute=attribute, lot_key=lot_key, url=url, prefix="--singlecell-")
    from regmed.singlecell import analyze_lots, singlecell_section

    result = analyze_lots(adata, potency, lot_key=lot_key,
                          method=str(opts.get("method") or "clr"), umap=False,
                          rng=int(opts.get("seed") or 0))
    return singlecell_section(result)
