"""`regmed singlecell analyze` from an .h5ad or from the registry's lot files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import regmed.registry as reg
from regmed.cli import main
from regmed.demo.singlecell import simulate_lots


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


@pytest.fixture(scope="module")
def lots():
    return simulate_lots(n_lots=6, cells_per_lot=120, n_genes=120, markers_per_state=10,
                         link=0.95, seed=9)


FAST = ["--no-umap", "--permutations", "199"]


def test_analyze_an_h5ad_with_a_potency_csv(lots, tmp_path: Path, capsys) -> None:
    h5ad = tmp_path / "lots.h5ad"
    lots.to_anndata().write_h5ad(h5ad)
    csv = tmp_path / "potency.csv"
    lots.lots[["lot", "potency"]].to_csv(csv, index=False)
    out = tmp_path / "out"
    code, stdout, err = run(["singlecell", "analyze", str(h5ad), "--potency", str(csv),
                             "--out", str(out), *FAST], capsys)
    assert code == 0, err
    assert "6 lots" in stdout and "minimum detectable" in stdout
    for name in ("composition.csv", "deviation.csv", "association.csv", "markers.csv",
                 "singlecell.json", "composition.png", "association.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "association.csv")
    assert list(table.columns[:5]) == ["cluster", "estimate", "p_value", "q_value", "stable"]
    section = json.loads((out / "singlecell.json").read_text())
    assert section["n_lots"] == 6 and section["association"]["method"] == "clr"


def test_bad_input_is_a_clear_error(lots, tmp_path: Path, capsys) -> None:
    h5ad = tmp_path / "lots.h5ad"
    lots.to_anndata().write_h5ad(h5ad)
    csv = tmp_path / "potency.csv"
    lots.lots[["lot", "potency"]].head(4).to_csv(csv, index=False)
    code, _, err = run(["singlecell", "analyze", str(h5ad), "--potency", str(csv), *FAST],
                       capsys)
    assert code == 2 and "L05" in err and "L06" in err and "no potency value" in err
    code, _, err = run(["singlecell", "analyze", str(h5ad), "--potency", str(csv),
                        "--lot-key", "donor", *FAST], capsys)
    assert code == 2 and "obs.donor" in err
    code, _, err = run(["singlecell", "analyze", "--potency", str(csv)], capsys)
    assert code == 2 and "--from-registry" in err
    code, _, err = run(["singlecell", "analyze", str(tmp_path / "nope.h5ad"), "--potency",
                        str(csv)], capsys)
    assert code == 2 and "file not found" in err
    bad = tmp_path / "bad.h5ad"
    bad.write_text("not hdf5")
    code, _, err = run(["singlecell", "analyze", str(bad), "--potency", str(csv)], capsys)
    assert code == 2 and "not a readable .h5ad" in err


def _registry_tables(lots) -> dict[str, pd.DataFrame]:
    codes = lots.lots["lot"].tolist()
    return {
        "products": pd.DataFrame([{"product_code": "MSC1", "name": "MSC", "type": "autologous",
                                   "approval_kind": "conditional"}]),
        "quality_attributes": pd.DataFrame([{"product_code": "MSC1", "attribute_code": "vegf",
                                             "name": "VEGF secretion", "unit": "pg/mL"}]),
        "lots": pd.DataFrame([{"lot_code": c, "product_code": "MSC1", "process_version": "v1",
                               "manufactured_on": "2024-01-10", "status": "released"}
                              for c in codes]),
        "lot_results": pd.DataFrame([{"lot_code": c, "attribute_code": "vegf",
                                      "value": str(v), "unit": "pg/mL"}
                                     for c, v in zip(codes, lots.lots["potency"],
                                                     strict=True)]),
    }


def test_analyze_from_the_registry(lots, tmp_path: Path, capsys,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'regmed.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", "singlecell-test-key-0123456789")
    reg.upgrade(url)
    engine = reg.make_engine(url)
    try:
        with reg.session_scope(engine) as session:
            reg.import_tables(session, _registry_tables(lots), actor="tester")
    finally:
        engine.dispose()
    adata = lots.to_anndata()
    for code in lots.lots["lot"]:
        path = tmp_path / f"{code}.h5ad"
        adata[adata.obs["lot"] == code].copy().write_h5ad(path)
        code_, stdout, err = run(["singlecell", "register-file", code, str(path),
                                  "--actor", "qa"], capsys)
        assert code_ == 0, err
    out = tmp_path / "out"
    code, stdout, err = run(["singlecell", "analyze", "--from-registry",
                             "--potency-attribute", "vegf", "--out", str(out), *FAST], capsys)
    assert code == 0, err
    assert "6 lots" in stdout
    comp = pd.read_csv(out / "composition.csv")
    assert sorted(comp["lot"].unique()) == lots.lots["lot"].tolist()
    # the same lots in the quality report's single-cell section
    qout = tmp_path / "quality"
    code, stdout, err = run(["quality", "report", "--no-pdf", "--out", str(qout),
                             "--singlecell-from-registry"], capsys)
    assert code == 2 and "--singlecell-potency-attribute" in err  # no plan, no covariate
    code, stdout, err = run(["quality", "report", "--no-pdf", "--out", str(qout),
                             "--singlecell-from-registry", "--singlecell-potency-attribute",
                             "vegf"], capsys)
    assert code == 0, err
    doc = json.loads((qout / "quality.json").read_text())
    sc = doc["quality"]["singlecell"]
    assert sc["n_lots"] == 6 and sc["association"]["covariate"] == "potency"
    assert sorted(sc["association"]["lot_values"]) == lots.lots["lot"].tolist()
    html = (qout / "quality.html").read_text()
    assert 'id="singlecell-table"' in html and 'data-figure="singlecell-composition"' in html
    top = sc["association"]["top"]
    assert f'data-cluster="{top}"' in html and f"top cluster {top}" in stdout
    # lot files travel with an export and import back whole into a new registry
    code, _, err = run(["export", "--format", "csv", "--out", str(tmp_path / "ex")], capsys)
    assert code == 0, err
    exported = pd.read_csv(tmp_path / "ex" / "lot_files.csv")
    assert sorted(exported["lot_code"]) == lots.lots["lot"].tolist()
    url2 = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    monkeypatch.setenv("REGMED_DATABASE_URL", url2)
    reg.upgrade(url2)
    code, _, err = run(["import", str(tmp_path / "ex"), "--actor", "qa"], capsys)
    assert code == 0, err
    engine = reg.make_engine(url2)
    try:
        with reg.session_scope(engine) as session:
            copied = reg.lot_files(session, verify=True)
    finally:
        engine.dispose()
    assert (copied.sort_values("lot_code")["sha256"].tolist()
            == exported.sort_values("lot_code")["sha256"].tolist())
    monkeypatch.setenv("REGMED_DATABASE_URL", url)
    # a registered file that changed is refused
    (tmp_path / "L01.h5ad").write_bytes(b"tampered")
    code, _, err = run(["singlecell", "analyze", "--from-registry", "--potency-attribute",
                        "vegf", "--out", str(out), *FAST], capsys)
    assert code == 2 and "content changed" in err and "L01" in err


def test_map_a_new_lot_onto_the_saved_reference(tmp_path: Path, capsys) -> None:
    from regmed.demo.singlecell import split_lots

    sim = simulate_lots(n_lots=7, cells_per_lot=150, n_genes=120, markers_per_state=10,
                        link=0.9, seed=4)
    ref, new = split_lots(sim, ["L07"])
    ref_h5ad, new_h5ad = tmp_path / "ref.h5ad", tmp_path / "new.h5ad"
    ref.to_anndata().write_h5ad(ref_h5ad)
    new.to_anndata().write_h5ad(new_h5ad)
    csv = tmp_path / "potency.csv"
    ref.lots[["lot", "potency"]].to_csv(csv, index=False)
    out = tmp_path / "out"
    code, _, err = run(["singlecell", "analyze", str(ref_h5ad), "--potency", str(csv),
                        "--out", str(out), *FAST], capsys)
    assert code == 0, err
    assert (out / "reference.h5ad").is_file()
    code, stdout, err = run(["singlecell", "map", str(new_h5ad), "--reference",
                             str(out / "reference.h5ad"), "--out", str(tmp_path / "m")], capsys)
    assert code == 0, err
    assert "lot L07:" in stdout and "mean confidence" in stdout
    dev = pd.read_csv(tmp_path / "m" / "mapped_deviation.csv")
    assert dev["lot"].tolist() == ["L07"] and int(dev.at[0, "n_cells"]) == new.counts.shape[0]
    comp = pd.read_csv(tmp_path / "m" / "mapped_composition.csv")
    assert abs(comp["proportion"].sum() - 1.0) < 1e-9
    # the new lot is labelled with the reference's clusters (no new clustering)
    reference_comp = pd.read_csv(out / "composition.csv")
    assert set(comp["cluster"].astype(str)) <= set(reference_comp["cluster"].astype(str))
    # errors name the file and what is wrong
    code, _, err = run(["singlecell", "map", str(tmp_path / "none.h5ad"), "--reference",
                        str(tmp_path / "nope.h5ad")], capsys)
    assert code == 2 and "none.h5ad" in err and "nope.h5ad" in err
    code, _, err = run(["singlecell", "map", str(new_h5ad), "--reference", str(ref_h5ad)],
                       capsys)
    assert code == 2 and "uns.reference" in err
