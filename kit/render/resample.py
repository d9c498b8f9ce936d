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
    # floor(i * n_in / n_out) in integers: the float product can fall short of the last edge
    # (107 * (110 / 107) < 110), which made the last bin's mean of two pixels their sum
    edges = (np.arange(n_out + 1, dtype=np.int64) * n_in // n_out).astype(np.intp)
    starts, counts = edges[:-1], np.diff(edges)
    shape = [1] * a.ndim
    shape[axis] = n_out
    widest = int(counts.max())
    if widest > _SHIFTED_SUMS:
        sums = np.add.reduceat(a, starts, axis=axis, dtype=np.float64)
    else:
        # A few wide bins: add the k-th member of every bin at once, left to right, as
        # reduceat does for bins this short (numpy's ufunc.reduceat costs ~100x more on a
        # thumbnail); a bin without a k-th member adds an exact 0.
        sums = np.take(a, starts, axis=axis).astype(np.float64)
        for k in range(1, widest):
            part = np.take(a, np.minimum(starts + k, n_in - 1), axis=axis)
            sums += np.where((counts > k).reshape(shape), part, 0.0)
    return (sums / counts.astype(np.float64).reshape(shape)).astype(np.float32)


_SHIFTED_SUMS = 8  # widest bin summed by shifted adds (numpy sums up to 8 in order, too)


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
