"""The text encoding of an imported CSV file: given, or detected (UTF-8, BOMs, CP932).

Excel in Japan saves "CSV" as CP932 (Microsoft's Shift_JIS), "CSV UTF-8" with a byte-order mark
and "Unicode text" as UTF-16 LE with a BOM. :func:`file_encoding` names the codec a file is
read with: with ``auto`` a UTF-8 or UTF-16 BOM decides, else the file is read as UTF-8 if all
of it is strict UTF-8, else as CP932 if all of it is strict CP932; otherwise it is refused
naming the first byte neither reads (offset and line). A given encoding is checked the same
way, so a wrong one is refused before anything is read, never half-way through an import.
``shift_jis`` is read as CP932, the superset Excel and Windows write.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from regmed.errors import DataError, Problem

__all__ = ["ENCODINGS", "file_encoding", "first_bad_byte"]

#: The encodings ``regmed import --encoding`` accepts (``auto`` detects).
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp932", "shift_jis", "utf-16")
_CODEC = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp932": "cp932",
          "shift_jis": "cp932", "utf-16": "utf-16"}
_BLOCK = 1 << 20


def first_bad_byte(path: Path, codec: str) -> tuple[int, int] | None:
    """``(byte offset, line)`` of the first byte of ``path`` that ``codec`` cannot decode
    strictly (0-based offset, 1-based line), or None when all of it decodes.

    The file is read in blocks through an incremental decoder, so memory stays bounded and a
    character split across blocks decodes as one.
    """
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    fed = 0
    lines = 1
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            final = not block
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                start = fed - len(pending) + exc.start
                good = exc.object[: exc.start].decode(codec, errors="replace")
                return start, lines + good.count("\n")
            lines += text.count("\n")
            fed += len(block)
            if final:
                return None


def _refused(path: Path, message: str, line: int) -> DataError:
    row = line - 1 if line > 1 else None  # line 1 is the header
    text = (f"{message}; save it as CSV UTF-8 (Excel: Save As → CSV UTF-8) or give its "
            "encoding (--encoding)")
    return DataError(f"cannot read {path.name}: {text}", [Problem(text, file=path.name, row=row)])


def file_encoding(path: str | Path, encoding: str = "auto") -> str:
    """The Python codec to read the CSV file ``path`` with.

    Parameters
    ----------
    path : str or Path
        The file.
    encoding : str
        One of :data:`ENCODINGS`; ``auto`` (default) detects it (see the module docstring).

    Returns
    -------
    str
        ``utf-8-sig`` (UTF-8, with or without a BOM), ``utf-16`` or ``cp932``.

    Raises
    ------
    DataError
        When the encoding is unknown or the file does not decode; the problem names the file,
        the byte offset and the row (data rows counted after the header).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sites.csv"
    >>> _ = p.write_bytes("site_code,name\\nS01,東京病院\\n".encode("cp932"))
    >>> file_encoding(p)
    'cp932'
    """
    path = Path(path)
    if encoding not in ENCODINGS:
        raise DataError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
    with path.open("rb") as fh:
        head = fh.read(4)
    if encoding == "auto":
        if head.startswith(codecs.BOM_UTF8):
            candidates = ["utf-8-sig"]
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            candidates = ["utf-16"]
        else:
            candidates = ["utf-8-sig", "cp932"]
    else:
        candidates = [_CODEC[encoding]]
        if candidates == ["utf-16"] and not head.startswith(
                (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            candidates = ["utf-16-le"]  # no BOM: Windows' "Unicode text" is little-endian
    found = []
    for codec in candidates:
        bad = first_bad_byte(path, codec)
        if bad is None:
            return codec
        found.append((codec, bad))
    names = {"utf-8-sig": "UTF-8", "cp932": "CP932 (Shift_JIS)", "utf-16": "UTF-16",
             "utf-16-le": "UTF-16"}
    parts = [f"{names[c]} (byte {offset} on line {line} does not decode)"
             for c, (offset, line) in found]
    message = ("neither " + " nor ".join(parts)) if len(parts) > 1 else "not " + parts[0]
    raise _refused(path, f"it is {message}", found[0][1][1])
