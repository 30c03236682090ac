"""The demo's own output folder: it writes only where it wrote before, and says so.

``regmed demo --out DIR`` builds its registry (``DIR/regmed.sqlite``, never the one named by
``REGMED_DATABASE_URL``) and its reports in ``DIR``. It keeps a manifest of every file it
wrote, ``DIR/.regmed-demo`` (JSON: relative path → SHA-256 and size), so that:

* a folder holding any file the demo did not write — an existing ``regmed.sqlite``, its
  ``-wal``/``-shm``, a key file, anything — is refused before anything is written or removed;
* a folder the demo wrote before is reused: the files of its manifest are removed (only those,
  and only when they still hold what the demo wrote) and the demo runs again.

A file of the manifest whose content changed since (e.g. the demo registry was used
afterwards) is refused too: the demo never removes what it cannot prove is its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from regmed.errors import DataError, Problem
from regmed.registry.lot_files import file_sha256 as _sha256

__all__ = ["MANIFEST", "claim_folder", "write_manifest", "folder_files"]

#: The manifest of the files the demo wrote (inside ``--out``).
MANIFEST = ".regmed-demo"
_SHOWN = 12


def folder_files(out: Path) -> Iterator[str]:
    """Every file (and symlink) under ``out`` but the manifest, as POSIX relative paths."""
    for root, dirs, files in os.walk(out, followlinks=False):
        base = Path(root)
        links = [d for d in dirs if (base / d).is_symlink()]
        for name in [*files, *links]:
            rel = (base / name).relative_to(out).as_posix()
            if rel != MANIFEST:
                yield rel


def _manifest(out: Path) -> dict[str, dict[str, object]]:
    path = out / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        assert isinstance(files, dict)
        return files
    except (OSError, ValueError, KeyError, AssertionError, TypeError):
        raise DataError("The demo refuses the output folder", [Problem(
            "its manifest is not one the demo wrote; choose an empty or new folder",
            file=str(path), field="--out")]) from None


def _own(out: Path, rel: str, entry: dict[str, object]) -> bool:
    path = out / rel
    if path.is_symlink() or not path.is_file():
        return False
    return path.stat().st_size == entry.get("size") and _sha256(path) == entry.get("sha256")


def claim_folder(out: Path) -> None:
    """Make ``out`` the demo's folder, or refuse it before anything is written.

    The folder is created when missing. When it holds files, every one must be listed in the
    demo's manifest with its recorded content; those files are then removed (empty folders
    the demo made go too), so that the demo starts afresh.

    Raises
    ------
    DataError
        Naming the files the demo did not write (or that changed since it wrote them).
    """
    if out.exists() and not out.is_dir():
        raise DataError("The demo refuses the output folder", [Problem(
            "is a file, not a folder", file=str(out), field="--out")])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError("The demo cannot create its output folder; nothing was written", [
            Problem(exc.strerror or str(exc), file=str(out), field="--out")]) from None
    listed = _manifest(out)
    present = sorted(folder_files(out))
    foreign = [rel for rel in present if rel not in listed or not _own(out, rel, listed[rel])]
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more"
                                               if len(foreign) > _SHOWN else "")
        raise DataError("The demo refuses the output folder: it holds files the demo did not "
                        "write (or that changed since); nothing was written or removed",
                        [Problem(f"{shown}; choose an empty or new folder for the demo",
                                 file=str(out), field="--out")])
    for rel in present:
        (out / rel).unlink()
    dirs = sorted({p for rel in present for p in Path(rel).parents if str(p) != "."},
                  key=lambda p: len(p.parts), reverse=True)
    for d in dirs:
        try:
            (out / d).rmdir()
        except OSError:
            pass  # not empty: something else lives there (left alone)
    (out / MANIFEST).unlink(missing_ok=True)


def write_manifest(out: Path, before: set[str]) -> None:
    """List in the manifest every file under ``out`` that was not there in ``before``."""
    files = {}
    for rel in sorted(set(folder_files(out)) - before):
        path = out / rel
        if path.is_file() and not path.is_symlink():
            files[rel] = {"sha256": _sha256(path), "size": path.stat().st_size}
    text = json.dumps({"written_by": "regmed demo", "files": files}, indent=1, sort_keys=True)
    (out / MANIFEST).write_text(text + "\n", encoding="utf-8")
