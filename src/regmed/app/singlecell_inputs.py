"""Inputs of a single-cell analysis of lots: the cells and the lot covariate.

One use case for the CLI (`regmed singlecell analyze`), the quality report and the web app.
scanpy is imported only when a function runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regmed.errors import DataError, Problem, RegmedError

__all__ = ["load_inputs"]


def load_inputs(*, h5ad: Path | None, from_registry: bool, lots: list[str] | None,
                potency_csv: Path | None, potency_attribute: str | None, lot_key: str = "lot",
                url: str | None = None, prefix: str = "--") -> tuple[Any, Any]:
    """The cells (AnnData) and the lot covariate for a single-cell analysis.

    Cells come from ``h5ad`` or the lots' registered files (``from_registry``, checked
    against their SHA-256); the covariate from a CSV ``lot,potency`` or the registry's lot
    results of ``potency_attribute``. Option problems are reported together, named with
    ``prefix`` (``--`` for ``regmed singlecell``, ``--singlecell-`` for the quality report).
    """
    problems = []
    if (h5ad is None) == (not from_registry):
        problems.append(Problem(f"give an .h5ad file or {prefix}from-registry (one of the two)",
                                field="h5ad"))
    if (potency_csv is None) == (potency_attribute is None):
        problems.append(Problem(f"give {prefix}potency CSV or {prefix}potency-attribute "
                                "(one of the two)", field="potency"))
    if lots and not from_registry:
        problems.append(Problem(f"{prefix}lot selects registered files; use it with "
                                f"{prefix}from-registry", field="lot"))
    if problems:
        raise RegmedError("cannot run the single-cell analysis", problems)

    from regmed.singlecell.io import combine_lots, read_h5ad, read_potency_csv

    pot = read_potency_csv(potency_csv) if potency_csv is not None else None
    adata = read_h5ad(h5ad) if h5ad is not None else None
    if from_registry or potency_attribute is not None:
        from regmed.registry import lot_attribute, lot_files, session_scope
        from regmed.registry.opening import open_registry

        engine = open_registry(url)
        try:
            with session_scope(engine) as session:
                if potency_attribute is not None:
                    pot = lot_attribute(session, potency_attribute).rename("potency")
                if from_registry:
                    files = lot_files(session, lots or None, verify=True)
        finally:
            engine.dispose()
        if from_registry:
            if files.empty:
                raise DataError("no registered .h5ad files" + (
                    f" for lots {', '.join(lots)}" if lots else "") +
                    "; register them with `regmed singlecell register-file`")
            dup = files["lot_code"][files["lot_code"].duplicated()].tolist()
            if dup:
                raise DataError("a lot has several registered .h5ad files",
                                [Problem("more than one file", field=f"lot {d}") for d in dup])
            adata = combine_lots(dict(zip(files["lot_code"], files["path"], strict=True)),
                                 lot_key=lot_key)
    assert adata is not None and pot is not None
    return adata, pot
