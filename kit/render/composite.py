"""Additive channel compositing: each channel is windowed to [0, 1], tinted and summed.

This is what OMERO, napari and vizarr do for fluorescence: a channel's colour says where its
signal goes, its window (start/end) says which intensities span black to full colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def composite(planes: np.ndarray, colors: Sequence[tuple[int, int, int]],
              windows: Sequence[tuple[float, float]], gamma: float = 1.0) -> np.ndarray:
    """Float RGB (H, W, 3) in [0, 1] from ``planes`` (C, H, W), one colour and window per plane.

    ``gamma`` is applied to each windowed channel (v ** gamma, v in [0, 1]) before tinting.
    """
    planes = np.asarray(planes)
    if planes.ndim != 3:
        raise ValueError(f"expected channel planes (C, H, W), got shape {planes.shape}")
    if not (len(colors) == len(windows) == planes.shape[0]):
        raise ValueError("one colour and one window per channel are needed")
    rgb = np.zeros(planes.shape[1:] + (3,), np.float32)
    for plane, color, (start, end) in zip(planes, colors, windows):
        span = float(end) - float(start)
        if span <= 0:
            span = 1.0
        # float64: a window bound may be beyond float32's range (start 1e300) yet a number.
        with np.errstate(over="ignore", invalid="ignore"):
            v = (plane.astype(np.float64) - float(start)) / span
        np.clip(v, 0.0, 1.0, out=v)
        v[~np.isfinite(v)] = 0.0
        if gamma != 1.0:
            np.power(v, gamma, out=v)
        rgb += v[..., None].astype(np.float32) * (np.asarray(color, np.float32) / 255.0)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] -> uint8 RGB, rounding to nearest."""
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
