"""Reading single-cell inputs (``.h5ad``, potency CSV) and writing an analysis to a folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from regmed.errors import DataError, Problem
from regmed.singlecell.section import singlecell_section
from regmed.singlecell.workflow import LotAnalysis

__all__ = ["read_h5ad", "read_potency_csv", "combine_lots", "write_analysis"]


def read_h5ad(path: str | Path) -> Any:
    """Read an ``.h5ad`` file; a missing or unreadable file is a :class:`DataError`."""
    import anndata as ad

    p = Path(path)
    if not p.is_file():
        raise DataError("cannot read single-cell data", [Problem("file not found", file=str(p))])
    try:
        return ad.read_h5ad(p)
    except Exception as exc:  # h5py/anndata raise many kinds on a bad file
        raise DataError("cannot read single-cell data", [
            Problem(f"not a readable .h5ad file ({type(exc).__name__}: {exc})", file=str(p))
        ]) from exc


def read_potency_csv(path: str | Path, *, lot_column: str = "lot",
                     value_column: str = "potency") -> pd.Series:
    """A lot-level covariate from a CSV with columns ``lot`` and ``potency``.

    Every problem (missing columns, empty or non-numeric values, a lot given twice) is
    reported at once with its row (1-based data rows) and column.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("cannot read potency", [Problem("file not found", file=str(p))])
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise DataError("cannot read potency", [Problem(f"not a CSV file ({exc})",
                                                        file=str(p))]) from exc
    missing = [c for c in (lot_column, value_column) if c not in frame.columns]
    if missing:
        raise DataError("cannot read potency", [
            Problem(f"no column {c!r} (columns: {', '.join(frame.columns)})", file=str(p),
                    field=c) for c in missing])
    problems = []
    seen: dict[str, int] = {}
    values = {}
    for i, (lot, raw) in enumerate(zip(frame[lot_column], frame[value_column], strict=True)):
        row = i + 1
        lot = str(lot).strip()
        if not lot:
            problems.append(Problem("empty lot", file=str(p), row=row, field=lot_column))
            continue
        if lot in seen:
            problems.append(Problem(f"lot {lot!r} already given in row {seen[lot]}",
                                    file=str(p), row=row, field=lot_column))
            continue
        seen[lot] = row
        try:
            v = float(str(raw).strip())
            if v != v or v in (float("inf"), float("-inf")):
                raise ValueError
        except ValueError:
            problems.append(Problem(f"not a number: {raw!r}", file=str(p), row=row,
                                    field=value_column))
            continue
        values[lot] = v
    if problems:
        raise DataError(f"{p.name}: bad potency values", problems)
    if not values:
        raise DataError("cannot read potency", [Problem("no rows", file=str(p))])
    s = pd.Series(values, name=value_column, dtype=float)
    s.index.name = "lot"
    return s


def combine_lots(files: Mapping[str, str | Path], lot_key: str = "lot") -> Any:
    """One AnnData from one ``.h5ad`` per lot (``lot → path``), genes in common only.

    Each file's cells get ``obs[lot_key]`` set to its lot (a file that names another lot in
    that column is an error) and their names prefixed with the lot, so they stay unique.
    """
    import anndata as ad

    parts, problems = {}, []
    for lot, path in files.items():
        a = read_h5ad(path)
        if lot_key in a.obs.columns:
            other = sorted(set(a.obs[lot_key].astype(str)) - {str(lot)})
            if other:
                problems.append(Problem(f"registered for lot {lot!r} but its obs[{lot_key!r}] "
                                        f"names {', '.join(other[:5])}", file=str(path)))
                continue
        a.obs[lot_key] = str(lot)
        parts[str(lot)] = a
    if problems:
        raise DataError("lot files do not match their lots", problems)
    if not parts:
        raise DataError("no lot files to analyse")
    combined = ad.concat(parts, join="inner", index_unique=":", merge="same")
    combined.obs[lot_key] = pd.Categorical(combined.obs[lot_key].astype(str))
    if combined.n_vars == 0:
        raise DataError("the lot files have no gene in common")
    return combined


def write_analysis(result: LotAnalysis, out: str | Path) -> dict[str, Path]:
    """Write tables (CSV), the report section (JSON) and figures (PNG) to folder ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    tables = {
        "composition": result.composition.table,
        "deviation": result.deviation.table,
        "association": result.association,
        "markers": result.marker_table,
    }
    if result.pseudobulk is not None:
        tables["pseudobulk"] = result.pseudobulk.table
    for name, frame in tables.items():
        written[name] = folder / f"{name}.csv"
        frame.to_csv(written[name], index=False)
    written["section"] = folder / "singlecell.json"
    written["section"].write_text(json.dumps(singlecell_section(result), indent=2,
                                             allow_nan=False), encoding="utf-8")
    for name, fig in result.figures.items():
        written[f"figure_{name}"] = folder / f"{name}.png"
        fig.savefig(written[f"figure_{name}"], dpi=120)
    return written
