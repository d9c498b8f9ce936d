"""Resizing on a regular grid: block means when shrinking, nearest neighbour when growing.

The preview shrinks the chosen level to ``max_size`` and stretches the coarser axis when y
and x pixels differ in physical size. Labels are always resampled by nearest neighbour (an
average of label values is meaningless).
"""

from __future__ import annotations

import math
import sys

import numpy as np


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index under each output pixel centre (uniform stretch), in exact integers."""
    i = np.arange(n_out, dtype=np.int64)
    return np.clip(((2 * i + 1) * n_in) // (2 * n_out), 0, n_in - 1).astype(np.intp)


def _resize_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    n_in = a.shape[axis]
    if n_out == n_in:
        return a
    if n_out > n_in:
        return np.take(a, nearest_index(n_in, n_out), axis=axis)
    edges = np.floor(np.arange(n_out + 1) * (n_in / n_out)).astype(np.intp)
    sums = np.add.reduceat(a.astype(np.float64), edges[:-1], axis=axis)
    counts = np.diff(edges).astype(np.float64)
    shape = [1] * a.ndim
    shape[axis] = n_out
    return (sums / counts.reshape(shape)).astype(np.float32)


def resize(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize the first two axes of ``a`` (H, W[, ...]) to ``height`` x ``width``."""
    return _resize_axis(_resize_axis(a, height, 0), width, 1)


def resize_nearest(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of the first two axes (labels, masks)."""
    return a[nearest_index(a.shape[0], height)][:, nearest_index(a.shape[1], width)]


def output_shape(height: int, width: int, sy: float, sx: float, max_size: int) -> tuple[int, int]:
    """Pixel size of the preview: square pixels of the finer of sy/sx, longest side <= max_size.

    The physical aspect ratio (height * sy : width * sx) is kept; data smaller than
    ``max_size`` is not enlarged beyond what the aspect correction needs.
    """
    sy, sx = abs(sy) or 1.0, abs(sx) or 1.0
    pixel = min(sy, sx)
    # Each scale may be finite while their ratio is not (1e300 / 1e-300): cap the sides at the
    # largest float so the shrink below stays a number instead of inf * 0 = NaN.
    h = min(height * sy / pixel, sys.float_info.max)
    w = min(width * sx / pixel, sys.float_info.max)
    shrink = min(1.0, max_size / max(h, w))
    return (max(1, math.floor(h * shrink + 0.5)), max(1, math.floor(w * shrink + 0.5)))
