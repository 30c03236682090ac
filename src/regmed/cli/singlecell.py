"""`regmed singlecell`: analyse lots' single-cell data; register a lot's ``.h5ad`` file.

scanpy is imported only when a command runs, so ``regmed --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regmed.app.singlecell_inputs import load_inputs
from regmed.errors import DataError, Problem

__all__ = ["register"]

singlecell_app = typer.Typer(
    help="Single-cell heterogeneity of lots: reference taxonomy, composition ↔ potency.",
    no_args_is_help=True,
)


@singlecell_app.command("analyze")
def analyze(
    h5ad: Annotated[Path | None, typer.Argument(
        help="An .h5ad of all lots (raw counts in X); omit with --from-registry")] = None,
    out: Annotated[Path, typer.Option(help="Folder for tables, JSON and figures")] = Path(
        "singlecell-output"),
    potency: Annotated[Path | None, typer.Option(
        help="CSV with columns lot,potency (one row per lot)")] = None,
    potency_attribute: Annotated[str | None, typer.Option(
        help="Take potency from the registry's lot results for this attribute code")] = None,
    from_registry: Annotated[bool, typer.Option(
        help="Read the lots' registered .h5ad files (checked against their SHA-256)")] = False,
    lot: Annotated[list[str] | None, typer.Option(
        help="With --from-registry: only these lots (repeatable)")] = None,
    lot_key: Annotated[str, typer.Option(help="obs column naming each cell's lot")] = "lot",
    batch_key: Annotated[str | None, typer.Option(
        help="obs column of a technical batch to integrate over (never the lot)")] = None,
    method: Annotated[str, typer.Option(help="clr, logit or propeller")] = "clr",
    resolution: Annotated[float, typer.Option(help="Leiden resolution")] = 1.0,
    permutations: Annotated[int, typer.Option(help="Permutations of the covariate")] = 9999,
    umap: Annotated[bool, typer.Option(help="Compute UMAP and its figures")] = True,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    save_reference: Annotated[bool, typer.Option(
        help="Write reference.h5ad, onto which `regmed singlecell map` projects new lots")
    ] = True,
) -> None:
    """Cluster the cells, relate each cluster's share across lots to potency, find markers."""
    adata, pot = load_inputs(h5ad=h5ad, from_registry=from_registry, lots=lot,
                             potency_csv=potency, potency_attribute=potency_attribute,
                             lot_key=lot_key)

    from regmed.singlecell import analyze_lots

    result = analyze_lots(adata, pot, lot_key=lot_key, batch_key=batch_key,
                          resolution=resolution, method=method,
                          n_permutations=permutations, umap=umap, rng=seed)
    from regmed.singlecell.io import write_analysis

    written = write_analysis(result, out)
    if save_reference:
        written["reference"] = out / "reference.h5ad"
        result.adata.write_h5ad(written["reference"])
    assoc = result.association_result
    typer.echo(f"{result.n_cells:,} cells, {result.composition.counts.shape[0]} lots, "
               f"{result.composition.counts.shape[1]} clusters; top cluster {assoc.top} "
               f"(r = {assoc.table['estimate'].iloc[0]:.2f}, "
               f"q = {assoc.table['q_value'].iloc[0]:.3g}); minimum detectable |r| = "
               f"{assoc.min_detectable_r:.2f}")
    for w in result.warnings:
        typer.echo(f"warning: {w}")
    typer.echo(f"wrote {len(written)} files to {out}")


@singlecell_app.command("map")
def map_cmd(
    new: Annotated[Path, typer.Argument(help="The new lot(s): .h5ad with raw counts in X")],
    reference: Annotated[Path, typer.Option(
        help="reference.h5ad written by `regmed singlecell analyze`")],
    out: Annotated[Path | None, typer.Option(
        help="Folder for mapped_composition.csv and mapped_deviation.csv")] = None,
    lot_key: Annotated[str, typer.Option(help="obs column naming each cell's lot")] = "lot",
    neighbors: Annotated[int, typer.Option(help="Reference neighbours per cell")] = 15,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
) -> None:
    """Map newly released lots onto the reference taxonomy (no re-clustering): each lot's
    composition, its Aitchison distance from the reference lots and the outlier flag."""
    from regmed.singlecell import map_lot
    from regmed.singlecell.io import read_h5ad

    problems = [Problem("file not found", file=str(p), field=name)
                for name, p in (("new", new), ("--reference", reference)) if not p.is_file()]
    if problems:
        raise DataError("cannot map the lot", problems)
    ref = read_h5ad(reference)
    if "reference" not in ref.uns:
        raise DataError("not a regmed reference", [Problem(
            "uns['reference'] is missing: write it with `regmed singlecell analyze`",
            file=str(reference), field="uns.reference")])
    mapping = map_lot(ref, read_h5ad(new), lot_key=lot_key, n_neighbors=neighbors, rng=seed)
    dev = mapping.deviation
    conf = mapping.confidence.set_index("lot")
    for row in dev.table.itertuples():
        flag = "OUTLIER" if row.outlier else "within the reference"
        typer.echo(f"lot {row.lot}: {row.n_cells:,} cells, distance {row.distance:.3f} "
                   f"(outlier above {dev.threshold:.3f}: {flag}); mean confidence "
                   f"{conf.at[row.lot, 'mean_confidence']:.3f}")
    shares = mapping.composition.proportions
    for lot_code, row in shares.iterrows():
        typer.echo(f"  {lot_code}: " + ", ".join(f"cluster {c} {v:.1%}"
                                                  for c, v in row.items()))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        mapping.composition.table.to_csv(out / "mapped_composition.csv", index=False)
        dev.table.merge(mapping.confidence, on=["lot", "n_cells"], how="left").to_csv(
            out / "mapped_deviation.csv", index=False)
        typer.echo(f"wrote mapped_composition.csv and mapped_deviation.csv to {out}")


@singlecell_app.command("register-file")
def register_file(
    lot_code: Annotated[str, typer.Argument(help="The lot's code")],
    path: Annotated[Path, typer.Argument(help="Its .h5ad file")],
    description: Annotated[str | None, typer.Option(help="What the file holds")] = None,
    reason: Annotated[str | None, typer.Option(
        help="Why; required when re-registering a changed file")] = None,
    actor: Annotated[str | None, typer.Option(help="Who (default: login name)")] = None,
) -> None:
    """Record a lot's .h5ad file (path, size, SHA-256) in the registry, audited."""
    from regmed.cli.registry import _default_actor, _engine
    from regmed.registry import register_lot_file, session_scope

    engine = _engine()
    try:
        with session_scope(engine) as session:
            rec = register_lot_file(lot_code, path, session=session,
                                    actor=actor or _default_actor(), description=description,
                                    reason=reason)
            digest, where = rec.sha256, rec.path
    finally:
        engine.dispose()
    typer.echo(f"lot {lot_code}: {where} (sha256 {digest[:16]}…)")


def register(app: typer.Typer) -> None:
    """Add `regmed singlecell` to the `regmed` app."""
    app.add_typer(singlecell_app, name="singlecell")
