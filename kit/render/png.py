"""PNG encoding of previews through matplotlib (already a dependency; no new one), and
``Picture``: a numpy RGB array that shows itself as a PNG when a notebook displays it."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import numpy as np


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB(A) array (H, W, 3), got {a.dtype} {a.shape}")
    return a


def to_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of a uint8 RGB array (as returned by ``kit.preview``)."""
    from matplotlib.image import imsave

    buf = io.BytesIO()
    imsave(buf, _check_rgb(rgb), format="png")
    return buf.getvalue()


def save_png(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write a uint8 RGB array as a PNG file."""
    with open(path, "wb") as f:
        f.write(to_png(rgb))


def data_uri(rgb: np.ndarray) -> str:
    """``data:image/png;base64,...`` for inline HTML (notebook cards survive saving)."""
    return "data:image/png;base64," + base64.b64encode(to_png(rgb)).decode("ascii")


class Picture(np.ndarray):
    """A uint8 RGB array (what ``kit.plate_overview`` returns) that a notebook shows as a PNG.

    Still a numpy array everywhere else: ``np.asarray`` gives the plain array, arithmetic and
    comparisons work as on any ndarray. Only IPython's display asks for ``_repr_png_``; a view
    that is no longer an RGB picture (a slice of one row, a sum) displays as numbers again.
    """

    def _repr_png_(self) -> bytes | None:
        a = np.asarray(self)
        if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8 or 0 in a.shape:
            return None
        return to_png(a)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict | None:
        """The PNG and a one-line text beside it (not a page of numbers in the notebook file);
        a display that cannot show images (a terminal) gets the array's numbers as ever."""
        if include is not None and "image/png" not in include:
            return None
        png = self._repr_png_()
        if png is None:
            return None
        h, w = self.shape[:2]
        return {"image/png": png,
                "text/plain": f"<Picture {w}x{h} RGB: a uint8 numpy array (np.asarray: its "
                              "pixels)>"}
