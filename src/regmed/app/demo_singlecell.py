"""The single-cell part of ``regmed demo``: simulated lot data, registered and reported.

Twelve of the demo registry's lots get simulated single-cell data (MSC-like states, VEGF
secretion under hypoxia driven by the angiogenic state's share, as in the talk on product
quality); each lot's ``.h5ad`` is registered with its SHA-256 (audited), and the quality
report — specifications, CQAs, comparability and the single-cell section — is written
beside the evaluation report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["demo_singlecell"]

N_LOTS = 12


def demo_singlecell(*, out: Path, url: str, plan: str, seed: int, lang: str, pdf: bool
                    ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Simulate, register and analyse single-cell data of ``N_LOTS`` demo lots.

    Returns the quality document and the files written (``quality``, ``html``, ``pdf``).
    """
    from sqlalchemy import select

    from regmed import registry
    from regmed.app.quality import quality_report
    from regmed.demo.singlecell import simulate_lots
    from regmed.registry.models import Lot

    engine = registry.make_engine(url)
    try:
        with registry.session_scope(engine) as session:
            codes = list(session.execute(
                select(Lot.lot_code).where(Lot.status == "released").order_by(Lot.lot_code)
                .limit(N_LOTS)).scalars())
        sim = simulate_lots(n_lots=len(codes), cells_per_lot=500, link=0.9, seed=seed)
        rename = dict(zip(sim.lots["lot"], codes, strict=True))
        adata = sim.to_anndata()
        adata.obs["lot"] = adata.obs["lot"].astype(str).map(rename).astype("category")
        folder = out / "singlecell"
        folder.mkdir(parents=True, exist_ok=True)
        potency = folder / "vegf_hypoxia.csv"
        (sim.potency.rename(index=rename).rename("potency").rename_axis("lot").reset_index()
         .to_csv(potency, index=False))
        with registry.session_scope(engine) as session:
            for code in codes:
                path = folder / f"{code}.h5ad"
                adata[adata.obs["lot"] == code].copy().write_h5ad(path)
                registry.register_lot_file(code, path, session=session, actor="demo",
                                           description="demo: simulated scRNA-seq of the lot")
    finally:
        engine.dispose()
    return quality_report(out=out, plan=plan, lang=lang, pdf=pdf, url=url,
                          singlecell={"from_registry": True, "potency_csv": potency,
                                      "seed": seed})
