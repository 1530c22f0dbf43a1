"""Figures and images as PNG bytes and data: URIs (every page embeds its images)."""

from __future__ import annotations

import base64
import io
from typing import Any

from ..files.bounded import open_image
from .plots import DPI, styled


def fig_to_png(fig: Any, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes; the figure is cleared afterwards (memory back)."""
    buf = io.BytesIO()
    with styled():
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    fig.clear()
    return buf.getvalue()


def png_data_uri(png: bytes, mime: str = "image/png") -> str:
    """`data:image/png;base64,...` for raw image bytes."""
    return f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


def fig_to_data_uri(fig: Any, dpi: int = DPI) -> str:
    """The figure as a base64 PNG data URI (closes/clears the figure)."""
    return png_data_uri(fig_to_png(fig, dpi=dpi))


def upscale_png(png: bytes, min_width: int = 240, max_factor: int = 8) -> bytes:
    """Nearest-neighbour upscale of a small image (8x8 digit grids) so it is visible; PNG out."""
    from PIL import Image

    img = open_image(png)
    w, h = img.size
    factor = 1
    while w * (factor + 1) <= min_width and factor < max_factor:
        factor += 1
    if factor == 1 and img.format == "PNG":
        return png
    if factor > 1:
        img = img.resize((w * factor, h * factor), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
