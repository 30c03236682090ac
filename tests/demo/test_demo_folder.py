"""`regmed demo` writes only into a folder of its own: it refuses a folder holding files it
did not write (an existing `regmed.sqlite` above all), reuses its own folder, and without
Chromium writes the HTML and says in one line how to get the PDF (exit 0)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from regmed.app.demo_folder import MANIFEST
from regmed.app.evaluation import run_demo
from regmed.cli import main
from regmed.errors import DataError

SMALL = {"n_treated": 40, "n_concurrent": 80, "n_historical": 100}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _demo(out: Path, **kw: object) -> list[str]:
    said: list[str] = []
    run_demo(out=out, scenario="sci", seed=3, lang="en", pdf=False, params=SMALL,
             say=lambda text: said.append(str(text)), **kw)  # type: ignore[arg-type]
    return said


@pytest.fixture(autouse=True)
def _demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGMED_DATABASE_URL", raising=False)
    monkeypatch.setenv("REGMED_PSEUDONYM_KEY", "demo-folder-test-key-0123456789")


@pytest.mark.parametrize("names", [
    ("regmed.sqlite",), ("regmed.sqlite", "regmed.sqlite-wal", "regmed.sqlite-shm"),
    ("regmed.sqlite.audit.key",), ("notes.txt",)])
def test_a_folder_with_files_the_demo_did_not_write_is_refused_untouched(
        tmp_path: Path, names: tuple[str, ...]) -> None:
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(f"someone's data {i}".encode() * 100)
    before = _digest(tmp_path)
    with pytest.raises(DataError) as err:
        _demo(tmp_path)
    text = str(err.value) + " ".join(p.message for p in err.value.problems)
    assert "did not write" in text and names[0] in text
    assert _digest(tmp_path) == before  # byte-identical, nothing added or removed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_the_demo_reruns_into_its_own_folder_but_not_after_its_registry_was_used(
        tmp_path: Path) -> None:
    out = tmp_path / "demo"
    said = _demo(out)
    assert any(f"demo registry: {out / 'regmed.sqlite'}" in s for s in said)
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert {"regmed.sqlite", "evaluation.json", "report.html"} <= set(manifest)
    assert not any(name.endswith(("-wal", "-shm")) for name in manifest)
    _demo(out)  # its own folder: reused
    assert (out / "report.html").exists()
    # the demo registry was used afterwards: the demo no longer proves it is its own
    with (out / "regmed.sqlite").open("ab") as fh:
        fh.write(b"\0")
    changed = _digest(out)
    with pytest.raises(DataError, match="did not write"):
        _demo(out)
    assert _digest(out) == changed


def test_without_chromium_the_demo_writes_html_and_says_how_to_get_the_pdf(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGMED_CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("PATH", "/nonexistent")
    out = tmp_path / "demo"
    try:
        main(["demo", "--out", str(out), "--no-singlecell"])
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    lines = capsys.readouterr().out.splitlines()
    hint = [line for line in lines if "no Chromium" in line]
    assert len(hint) == 1 and "PDF" in hint[0] and "make system" in hint[0], lines
    assert (out / "report.html").stat().st_size > 0 and not (out / "report.pdf").exists()
    assert json.loads((out / "evaluation.json").read_text())["verdict"]["overall"] == "met"


def test_an_output_folder_that_cannot_be_made_is_one_clear_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="is a file"):
        _demo(blocker)
    with pytest.raises(DataError, match="cannot create"):
        _demo(blocker / "inside")
    assert blocker.read_text() == "x"
