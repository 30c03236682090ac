"""`regmed quality report` and `regmed quality compare`: lot quality from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from regmed.app.quality import quality_report, read_quality_data
from regmed.errors import DataError, Problem, RegmedError

__all__ = ["register"]

_console = Console()


def _compare(url: str | None, reference: str, candidate: str, method: str,
             attributes: list[str] | None, k: float) -> Any:
    from regmed.quality import compare_lots

    data, _, _ = read_quality_data(url, None)
    lots, results = data.quality.get("lots"), data.quality["lot_results"]
    if lots is None:
        raise DataError("The registry holds no lots")
    versions = sorted(lots["process_version"].astype(str).unique())
    problems = [Problem(f"no lots of process version {v!r}; the registry has "
                        f"{', '.join(versions)}", field=opt)
                for opt, v in (("--reference-process", reference),
                               ("--candidate-process", candidate)) if v not in versions]
    numeric = results[pd_numeric(results["value"]).notna()]
    known = sorted(numeric["attribute_code"].astype(str).unique())
    chosen = attributes or known
    problems += [Problem(f"{a!r} has no numeric results; known: {', '.join(known)}",
                         field="--attribute") for a in chosen if a not in known]
    if problems:
        raise DataError("Unknown process version or attribute", problems)
    version = numeric["lot_code"].map(lots.set_index("lot_code")["process_version"].astype(str))
    numeric = numeric.assign(value=pd_numeric(numeric["value"]))
    return compare_lots(numeric[version == reference], numeric[version == candidate], chosen,
                        method=method, k=k)


def pd_numeric(values: Any) -> Any:
    """Numbers of a column, NaN where not numeric."""
    import pandas as pd

    return pd.to_numeric(values, errors="coerce")


def register(app: typer.Typer) -> None:
    """Add the `quality` group (`report`, `compare`) to the `regmed` app."""
    group = typer.Typer(help="Lot quality: specifications, CQAs, comparability.",
                        no_args_is_help=True)
    app.add_typer(group, name="quality")

    @group.command("report")
    def report_cmd(
        out: Annotated[Path, typer.Option("--out", help="Folder for quality.html")] = Path("out"),
        plan: Annotated[str | None, typer.Option(
            "--plan", help="Locked plan name or plan YAML: its quality analyses and endpoint "
            "drive the CQA screen (without it: lot-level analyses only)")] = None,
        version: Annotated[int | None, typer.Option(help="Plan version (default latest)")
                           ] = None,
        db: Annotated[str | None, typer.Option(
            "--db", help="Database URL (default $REGMED_DATABASE_URL)")] = None,
        lang: Annotated[str, typer.Option(help="Report language: en or ja")] = "en",
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write quality.pdf")
                       ] = True,
        singlecell: Annotated[Path | None, typer.Option(
            "--singlecell", help="Add the single-cell section from this .h5ad of lots "
            "(raw counts in X)")] = None,
        singlecell_from_registry: Annotated[bool, typer.Option(
            "--singlecell-from-registry", help="Add the single-cell section from the lots' "
            "registered .h5ad files")] = False,
        singlecell_potency: Annotated[Path | None, typer.Option(
            "--singlecell-potency", help="CSV lot,potency for the single-cell section")] = None,
        singlecell_potency_attribute: Annotated[str | None, typer.Option(
            "--singlecell-potency-attribute", help="Lot attribute used as potency in the "
            "single-cell section (default: the plan's potency attribute)")] = None,
        singlecell_lot_key: Annotated[str, typer.Option(
            "--singlecell-lot-key", help="obs column naming each cell's lot")] = "lot",
        singlecell_method: Annotated[str, typer.Option(
            "--singlecell-method", help="clr, logit or propeller")] = "clr",
        seed: Annotated[int, typer.Option(help="Random seed (single-cell section)")] = 0,
    ) -> None:
        """Write the quality report (specifications and OOS, CQAs, potency chain, variance
        components, control charts, comparability) from the registry."""
        if lang not in ("en", "ja"):
            raise RegmedError(f"--lang must be en or ja, not {lang!r}")
        sc = None
        if singlecell is not None or singlecell_from_registry:
            sc = {"h5ad": singlecell, "from_registry": singlecell_from_registry,
                  "potency_csv": singlecell_potency,
                  "potency_attribute": singlecell_potency_attribute,
                  "lot_key": singlecell_lot_key, "method": singlecell_method, "seed": seed}
        elif singlecell_potency is not None or singlecell_potency_attribute is not None:
            raise RegmedError("--singlecell-potency(-attribute) needs --singlecell H5AD or "
                              "--singlecell-from-registry")
        doc, files = quality_report(out=out, plan=plan, version=version, lang=lang, pdf=pdf,
                                    url=db, singlecell=sc)
        q = doc["quality"]
        spec = q.get("specifications", {})
        _console.print(f"{len(spec.get('oos_lots', []))} of {spec.get('n_lots', 0)} lots out "
                       f"of specification; {len(q.get('flagged_patients', []))} patients "
                       "treated with OOS lots")
        for row in q.get("cqa", {}).get("estimates", []):
            if row["q_value"] is not None and row["q_value"] < 0.05:
                _console.print(f"CQA signal: {row['attribute']} (estimate "
                               f"{row['estimate']:.2f} per SD, q = {row['q_value']:.3g})")
        sc_part = q.get("singlecell")
        if sc_part:
            a = sc_part["association"]
            _console.print(f"single-cell: {sc_part['n_cells']:,} cells, {sc_part['n_lots']} lots,"
                           f" top cluster {a['top']} against {a['covariate']}")
        for kind, path in files.items():
            _console.print(f"{kind}: {path}")

    @group.command("compare")
    def compare_cmd(
        reference_process: Annotated[str, typer.Option(
            "--reference-process", help="Process version of the reference lots")],
        candidate_process: Annotated[str, typer.Option(
            "--candidate-process", help="Process version of the candidate lots")],
        method: Annotated[str, typer.Option(help="tost or quality_range")] = "tost",
        attribute: Annotated[list[str] | None, typer.Option(
            "--attribute", help="Attribute code (repeat; default all numeric)")] = None,
        k: Annotated[float, typer.Option(help="k of the quality range mean ± k·SD")] = 3.0,
        db: Annotated[str | None, typer.Option(
            "--db", help="Database URL (default $REGMED_DATABASE_URL)")] = None,
    ) -> None:
        """Comparability of the lots of two process versions, per attribute."""
        if method not in ("tost", "quality_range"):
            raise RegmedError(f"--method must be tost or quality_range, not {method!r}")
        cmp = _compare(db, reference_process, candidate_process, method, attribute, k)
        table = Table(title=f"{candidate_process} against {reference_process} ({method})")
        for col in ("attribute", "difference", "CI", "margin", "equivalent"):
            table.add_column(col)
        for r in cmp.estimates.itertuples():
            table.add_row(str(r.attribute), f"{r.difference:.3g}",
                          f"{r.ci_lower:.3g} to {r.ci_upper:.3g}", f"± {r.margin:.3g}",
                          "yes" if r.equivalent else "NO")
        _console.print(table)
        for w in cmp.warnings:
            _console.print(f"[yellow]warning:[/] {w}")
