"""Write the report to disk: HTML always, PDF and page screenshots through headless Chromium."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regmed.errors import RegmedError
from regmed.report.render import render_html

__all__ = ["ReportFiles", "write_report", "screenshot", "find_chromium", "CHROMIUM_FLAGS"]

#: Flags for a quiet, offline, throw-away headless Chromium.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio",
)
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclasses.dataclass(frozen=True)
class ReportFiles:
    """Paths of the files :func:`write_report` wrote (``pdf`` is None when not asked for)."""

    html: Path
    pdf: Path | None
    lang: str

    def to_dict(self) -> dict[str, Any]:
        return {"html": str(self.html), "pdf": None if self.pdf is None else str(self.pdf),
                "lang": self.lang}


def find_chromium(executable: str | os.PathLike[str] | None = None) -> str:
    """Return the Chromium executable: ``executable`` if given, else ``$REGMED_CHROMIUM``,
    ``/usr/bin/chromium`` or the first Chromium/Chrome on ``PATH``.

    Raises
    ------
    regmed.errors.RegmedError
        When none is found (with the command that installs it).
    """
    wanted = executable or os.environ.get("REGMED_CHROMIUM")
    if wanted:
        found = shutil.which(str(wanted))
        if found:
            return found
        raise RegmedError(f"Chromium not found at {wanted!s}; install it (Debian: "
                          "`apt-get install chromium`) or render with pdf=False")
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RegmedError("Chromium is needed to write the PDF and screenshots but was not found; "
                      "install it (Debian: `apt-get install chromium`, or `make system`), set "
                      "REGMED_CHROMIUM, or write the HTML only with pdf=False")


def _run_chromium(args: list[str], out: Path, chromium: str | None, timeout: float) -> None:
    exe = find_chromium(chromium)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    with tempfile.TemporaryDirectory(prefix="regmed-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise RegmedError(f"Chromium did not finish within {timeout:g} s while writing "
                              f"{out}") from exc
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = "\n".join(line for line in proc.stderr.splitlines()
                         if "dbus" not in line.lower())[-800:]
        raise RegmedError(f"Chromium failed to write {out} (exit {proc.returncode}): {tail}")


def write_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], *,
              chromium: str | None = None, timeout: float = 120.0) -> Path:
    """Print an HTML file to PDF (A4, no browser header/footer) with headless Chromium."""
    src, out = Path(html_path).resolve(), Path(pdf_path).resolve()
    _run_chromium([f"--print-to-pdf={out}", "--no-pdf-header-footer", src.as_uri()], out,
                  chromium, timeout)
    return out


def screenshot(html_path: str | os.PathLike[str], png_path: str | os.PathLike[str], *,
               width: int = 1280, height: int = 1600, chromium: str | None = None,
               timeout: float = 120.0) -> Path:
    """Take a PNG screenshot of the top ``width`` × ``height`` pixels of an HTML file as a
    person sees it in a browser window of that size.

    Raises
    ------
    regmed.errors.RegmedError
        When Chromium is missing or fails.
    """
    src, out = Path(html_path).resolve(), Path(png_path).resolve()
    _run_chromium([f"--screenshot={out}", f"--window-size={int(width)},{int(height)}",
                   src.as_uri()], out, chromium, timeout)
    return out


def write_report(doc: Mapping[str, Any], out_dir: str | os.PathLike[str], *, lang: str = "en",
                 pdf: bool = True, chromium: str | None = None) -> ReportFiles:
    """Write ``report.html`` (and ``report.pdf`` when ``pdf``) for an evaluation document.

    Parameters
    ----------
    doc : dict
        The evaluation document (validated; see :mod:`regmed.document`).
    out_dir : path
        Folder to write into (created when missing).
    lang : {"en", "ja"}
        Report language.
    pdf : bool
        Also print the PDF through headless Chromium.
    chromium : str, optional
        The Chromium executable (default: see :func:`find_chromium`).

    Returns
    -------
    ReportFiles

    Raises
    ------
    regmed.errors.DataError
        The document does not follow the schema.
    regmed.errors.RegmedError
        Chromium is missing or fails (checked before anything is written).

    Examples
    --------
    >>> files = write_report(doc, "out", lang="ja")  # doctest: +SKIP
    >>> files.pdf
    PosixPath('out/report.pdf')
    """
    if pdf:
        find_chromium(chromium)
    text = render_html(doc, lang=lang)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / "report.html"
    html_path.write_text(text, encoding="utf-8")
    pdf_path = write_pdf(html_path, folder / "report.pdf", chromium=chromium) if pdf else None
    return ReportFiles(html=html_path, pdf=None if pdf_path is None else folder / "report.pdf",
                       lang=lang)
