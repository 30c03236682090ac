"""Helpers of the report tests: read the HTML the way a browser would, and judge PNG images."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

#: The hand-written sample evaluation document (a rendering fixture, not a result).
SAMPLE = Path(__file__).parent / "data" / "evaluation_sample.json"


class Page(HTMLParser):
    """Elements in document order (tag, attributes) and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self._skip = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self._text.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if (tag is None or t == tag)
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def index(self, tag: str, **attrs: str) -> int:
        for i, (t, a) in enumerate(self.elements):
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                return i
        raise LookupError(f"no <{tag}> with {attrs}")

    def figure_images(self) -> dict[str, list[str]]:
        """data-figure name -> the src of the <img> inside each such <figure>."""
        out: dict[str, list[str]] = {}
        current = None
        for tag, attrs in self.elements:
            if tag == "figure":
                current = attrs.get("data-figure")
            elif tag == "img" and current:
                out.setdefault(current, []).append(attrs["src"])
                current = None
        return out


def decode_data_uri(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    raw = base64.b64decode(src[len(prefix):], validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(raw))


def plot_content(img: Image.Image) -> tuple[float, float]:
    """(share of non-white pixels, share of coloured pixels) of an image."""
    rgb = np.asarray(img.convert("RGB"), dtype=float)
    grey = rgb.mean(axis=2)
    ink = float((grey < 200).mean())
    colour = float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())
    return ink, colour
