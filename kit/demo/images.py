"""Synthetic microscopy images written as OME-Zarr multiscale images (NGFF 0.4 and 0.5).

The scene is drawn once at full resolution (nuclei as ellipsoids, cells as a ring around them,
three kinds of channel signal), and every pyramid level and label is derived from it, so tests
have an exact oracle: label values are the nuclei, label pixels are the bright pixels.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kit.demo._zarrio import check_version, child_group, open_new_group, write_array, zarr_format
from kit.ngff import build

CANONICAL = "tczyx"
DEFAULT_SCALE = {"t": 1.0, "c": 1.0, "z": 1.0, "y": 0.325, "x": 0.325}
DEFAULT_CHANNELS = (
    ("DAPI", "0000FF"),
    ("GFP", "00FF00"),
    ("mCherry", "FF0000"),
    ("Cy5", "FF00FF"),
)
CELL_FACTOR = 1.7  # cell radius / nucleus radius
LABEL_DTYPE = np.uint32
NOISE = (0.6, 0.05)  # camera noise: constant + shot-noise-like term (std in counts)


@dataclass(frozen=True)
class Nucleus:
    """One synthetic nucleus; label = its value in the label image (1..N)."""

    label: int
    cy: int
    cx: int
    a: float
    b: float
    theta: float
    zc: float
    hz: float


@dataclass
class Scene:
    """Full-resolution content in the requested axis order, plus the ground truth."""

    axes: str
    image: np.ndarray
    labels: dict[str, np.ndarray]
    nuclei: list[Nucleus]
    positive: np.ndarray  # per label value (index 0 unused): mCherry-positive cell


# --------------------------------------------------------------------------- validation


def check_axes(axes: str, shape: Sequence[int]) -> str:
    """Axes must be a subsequence of t, c, z, y, x ending in y, x (NGFF order)."""
    it = iter(CANONICAL)
    if not all(a in it for a in axes) or not axes.endswith("yx") or len(set(axes)) != len(axes):
        raise ValueError(f"axes must be an ordered subset of 'tczyx' ending in 'yx', not {axes!r}")
    if len(shape) != len(axes):
        raise ValueError(f"shape {tuple(shape)} does not match axes {axes!r}")
    if any(int(s) < 1 for s in shape):
        raise ValueError(f"shape must be positive, not {tuple(shape)}")
    return axes


def label_axes(axes: str) -> str:
    """A label has the image's axes without the channel axis."""
    return axes.replace("c", "")


# --------------------------------------------------------------------------- scene synthesis


def _place_nuclei(rng: np.random.Generator, ny: int, nx: int, nz: int) -> list[Nucleus]:
    """Non-overlapping ellipses, fully inside the image, at least one (so labels exist).

    Rejection sampling over candidates drawn in one batch (scalar draws are slow)."""
    r0 = float(np.clip(min(ny, nx) / 16.0, 1.5, 14.0))
    target = max(1, int(ny * nx / (r0 * r0 * 10.0)))
    n = target * 30
    r = r0 * rng.uniform(0.7, 1.0, n)
    u = rng.uniform(1.0, 1.35, n)
    a, b, theta = r * u, r / u, rng.uniform(0.0, math.pi, n)
    zc = rng.integers(0, nz, n) + rng.uniform(-0.25, 0.25, n)
    hz = rng.uniform(1.0, 2.2, n)
    fy, fx = rng.random(n), rng.random(n)
    nuclei: list[Nucleus] = []
    placed = np.empty((target, 3))  # cy, cx, a of accepted nuclei
    last = 0  # index of the last accepted candidate: stop once the field is saturated
    for i in range(n):
        if len(nuclei) >= target or i - last > 300:
            break
        m = a[i] + 1.0
        if ny - 1 - 2 * m < 0 or nx - 1 - 2 * m < 0:
            if nuclei:
                continue
            cy, cx = (ny - 1) // 2, (nx - 1) // 2
        else:
            cy = int(round(m + fy[i] * (ny - 1 - 2 * m)))
            cx = int(round(m + fx[i] * (nx - 1 - 2 * m)))
        k = len(nuclei)
        if k:
            d2 = (placed[:k, 0] - cy) ** 2 + (placed[:k, 1] - cx) ** 2
            if (d2 < ((placed[:k, 2] + a[i]) * 1.8) ** 2).any():
                continue
        placed[k] = (cy, cx, a[i])
        last = i
        nuclei.append(Nucleus(k + 1, cy, cx, float(a[i]), float(b[i]), float(theta[i]),
                              float(zc[i]), float(hz[i])))
    return nuclei


def _ellipse_window(n: Nucleus, ny: int, nx: int) -> tuple[slice, slice, np.ndarray]:
    """Bounding window of the cell around a nucleus and the normalised squared radius in it."""
    reach = n.a * CELL_FACTOR + 2
    ys = slice(max(0, int(n.cy - reach)), min(ny, int(n.cy + reach) + 2))
    xs = slice(max(0, int(n.cx - reach)), min(nx, int(n.cx + reach) + 2))
    dy = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None] - n.cy
    dx = np.arange(xs.start, xs.stop, dtype=np.float32)[None, :] - n.cx
    c, s = math.cos(n.theta), math.sin(n.theta)
    u = (dx * c + dy * s) / n.a
    v = (-dx * s + dy * c) / n.b
    return ys, xs, u * u + v * v


def _sections(nuclei: list[Nucleus], windows: list, nz: int):
    """(nucleus, z, y window, x window, squared radius, f2) for every z plane a nucleus crosses:
    each nucleus is an ellipsoid whose section at z is its ellipse scaled by sqrt(f2)."""
    for n, (ys, xs, rho2) in zip(nuclei, windows):
        for z in range(nz):
            f2 = 1.0 - ((z - n.zc) / n.hz) ** 2
            if f2 > 0:
                yield n, z, ys, xs, rho2 / f2, f2


def _paint(nuclei: list[Nucleus], nz: int, ny: int, nx: int):
    """Label images (nuclei, cells) and signal profiles (nuclear, cytoplasmic), shape (z, y, x)."""
    nuc = np.zeros((nz, ny, nx), LABEL_DTYPE)
    prof_n = np.zeros((nz, ny, nx), np.float32)
    prof_c = np.zeros((nz, ny, nx), np.float32)
    windows = [_ellipse_window(n, ny, nx) for n in nuclei]
    for n, z, ys, xs, r2, f2 in _sections(nuclei, windows, nz):
        inside = r2 <= 1.0
        nuc[z, ys, xs][inside] = n.label
        prof_n[z, ys, xs][inside] = ((0.55 + 0.45 * np.sqrt(1.0 - r2[inside])) * math.sqrt(f2))
    cell = nuc.copy()  # a cell owns its nucleus; rings only claim pixels nobody owns yet
    for n, z, ys, xs, r2, f2 in _sections(nuclei, windows, nz):
        ring = (r2 <= CELL_FACTOR**2) & (cell[z, ys, xs] == 0)
        cell[z, ys, xs][ring] = n.label
        t = (np.sqrt(r2[ring]) - 1.0) / (CELL_FACTOR - 1.0)
        prof_c[z, ys, xs][ring] = (1.0 - 0.5 * t) * math.sqrt(f2)
    return nuc, cell, prof_n, prof_c


def _blur(a: np.ndarray) -> np.ndarray:
    """3x3 box blur on the last two axes: soft edges without scipy."""
    p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    rows = p[..., :-2, :] + p[..., 1:-1, :] + p[..., 2:, :]
    return (rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]) / 9.0


def _channel_signals(rng, n_ch: int, n_lab: int, nuc, cell, prof_n, prof_c
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-channel signal (z, y, x) before background and noise; each channel looks different."""
    bright = rng.uniform(1500, 4000, n_lab + 1).astype(np.float32)
    expr = rng.uniform(300, 2500, n_lab + 1).astype(np.float32)
    positive = rng.random(n_lab + 1) < 0.5
    positive[0] = False
    level_m = np.where(positive, rng.uniform(800, 2000, n_lab + 1), 0).astype(np.float32)
    signals = []
    for c in range(n_ch):
        if c % 3 == 0 and c < 3:
            s = bright[nuc] * prof_n
        elif c == 1:
            s = expr[cell] * (prof_c + 0.25 * prof_n)
        elif c == 2:
            s = level_m[cell] * (0.6 * prof_c + 0.4 * prof_n)
        else:
            w_n, w_c = rng.uniform(0, 1500, 2)
            s = w_n * prof_n + w_c * prof_c
        signals.append(_blur(s).astype(np.float32))
    return signals, positive


def _to_dtype(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast float intensities to the pixel type: 8-bit data is rescaled, integers are clipped."""
    if dtype.kind == "f":
        return a.astype(dtype)
    if dtype.itemsize == 1:
        a = a / 16.0
    info = np.iinfo(dtype)
    return np.clip(np.rint(a), max(info.min, 0), info.max).astype(dtype)


def _label_view(lab: np.ndarray, shape, drop) -> np.ndarray:
    """Broadcast the (z, y, x) label over t, then drop the axes the image does not have."""
    out = np.broadcast_to(lab, shape)
    return np.ascontiguousarray(out.squeeze(axis=drop) if drop else out)


def synthesize(axes: str, shape: Sequence[int], *, dtype="uint16", seed: int = 0) -> Scene:
    """Draw the scene deterministically from the seed; the only source of pixel values."""
    axes = check_axes(axes, shape)
    dims = {a: int(s) for a, s in zip(axes, shape)}
    nt, nc, nz, ny, nx = (dims.get(a, 1) for a in CANONICAL)
    rng = np.random.default_rng(seed)
    nuclei = _place_nuclei(rng, ny, nx, nz)
    nuc, cell, prof_n, prof_c = _paint(nuclei, nz, ny, nx)
    signals, positive = _channel_signals(rng, nc, len(nuclei), nuc, cell, prof_n, prof_c)
    yy = np.linspace(-1, 1, ny, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, nx, dtype=np.float32)[None, :]
    illum = 1.0 - 0.12 * (yy * yy + xx * xx)
    image = np.empty((nt, nc, nz, ny, nx), np.float32)
    for c in range(nc):
        background = 100.0 + 15.0 * c
        for t in range(nt):
            clean = (background + signals[c] * (1.0 - 0.08 * t)) * illum
            noise = rng.standard_normal(clean.shape, dtype=np.float32)
            image[t, c] = clean + noise * (NOISE[0] + NOISE[1] * np.sqrt(clean))
    image = _to_dtype(image, np.dtype(dtype))
    keep = tuple(i for i, a in enumerate(CANONICAL) if a not in axes)
    lab_keep = tuple(i for i, a in enumerate("tzyx") if a not in axes)
    lab_shape = (nt, nz, ny, nx)
    return Scene(
        axes=axes,
        image=image.squeeze(axis=keep) if keep else image,
        labels={
            "nuclei": _label_view(nuc, lab_shape, lab_keep),
            "cells": _label_view(cell, lab_shape, lab_keep),
        },
        nuclei=nuclei,
        positive=positive,
    )


# --------------------------------------------------------------------------- pyramids


def downsample_image(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor x factor blocks in y/x (edges replicated), so size = ceil(n / factor)."""
    ny, nx = a.shape[-2:]
    py, px = (-ny) % factor, (-nx) % factor
    if py or px:
        a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, py), (0, px)], mode="edge")
    shape = a.shape[:-2] + (a.shape[-2] // factor, factor, a.shape[-1] // factor, factor)
    mean = a.reshape(shape).mean(axis=(-3, -1), dtype=np.float64)
    return mean.astype(a.dtype) if a.dtype.kind == "f" else np.rint(mean).astype(a.dtype)


def downsample_label(a: np.ndarray, factor: int) -> np.ndarray:
    """Nearest neighbour (every factor-th pixel), so values stay valid label values."""
    return np.ascontiguousarray(a[..., ::factor, ::factor])


def pyramid(a: np.ndarray, levels: int, factor: int, *, label: bool = False) -> list[np.ndarray]:
    """Level 0 and its successive y/x downsamples."""
    down = downsample_label if label else downsample_image
    out = [a]
    for _ in range(levels - 1):
        out.append(down(out[-1], factor))
    return out


# --------------------------------------------------------------------------- metadata


def multiscales_metadata(version: str, name: str, axes: str, levels: int, factor: int,
                         scale: Mapping[str, float], translation) -> list[dict[str, Any]]:
    """The ``multiscales`` list of a pyramid: y/x scale times factor**level, translation kept."""
    scales = [[float(scale[a]) * (factor**k if a in "yx" else 1) for a in axes]
              for k in range(levels)]
    shift = [float(translation.get(a, 0.0)) for a in axes] if translation else None
    return build.multiscales(
        version, name=name, axes=build.axes(axes), scales=scales, translations=[shift] * levels,
        type="mean",
        metadata={"method": "kit.demo: mean of blocks (labels: nearest)", "downscale": factor})


def channel_specs(channels, n: int) -> list[tuple[str, str]]:
    """Normalise the ``channels`` argument into (label, hex colour) pairs, one per channel."""
    if channels is None:
        return [DEFAULT_CHANNELS[i] if i < len(DEFAULT_CHANNELS) else (f"ch{i}", "FFFFFF")
                for i in range(n)]
    specs = []
    for i, ch in enumerate(channels):
        if isinstance(ch, str):
            default = DEFAULT_CHANNELS[i][1] if i < len(DEFAULT_CHANNELS) else "FFFFFF"
            specs.append((ch, default))
        else:
            specs.append((str(ch["label"]), str(ch.get("color", "FFFFFF")).lstrip("#").upper()))
    if len(specs) != n:
        raise ValueError(f"{len(specs)} channels given for a channel axis of size {n}")
    return specs


def _number(x, dtype: np.dtype):
    return int(x) if dtype.kind in "iu" else float(x)


def window(data: np.ndarray, dtype: np.dtype) -> dict[str, int | float]:
    """Display window: min/max of the data, start/end from percentiles of a 1/16 subsample."""
    sub = data[..., ::4, ::4]
    start, end = np.percentile(sub, [0.5, 99.8])
    lo, hi = data.min(), data.max()
    if dtype.kind in "iu":
        start, end = math.floor(start), math.ceil(end)
    end = max(end, start + (1 if dtype.kind in "iu" else 1e-6))
    return {"min": _number(lo, dtype), "max": _number(max(hi, end), dtype),
            "start": _number(start, dtype), "end": _number(end, dtype)}


def omero_metadata(version: str, name: str, axes: str, image: np.ndarray, channels) -> dict:
    """``omero`` block: label, colour and a window taken from the data, per channel."""
    n = image.shape[axes.index("c")] if "c" in axes else 1
    chans = []
    for i, (label, color) in enumerate(channel_specs(channels, n)):
        data = np.take(image, i, axis=axes.index("c")) if "c" in axes else image
        chans.append(build.channel(label, color, window(data, image.dtype)))
    nz = image.shape[axes.index("z")] if "z" in axes else 1
    return build.omero(version, name=name, channels=chans, default_z=nz // 2)


def label_color(value: int) -> list[int]:
    """A distinct, deterministic colour per label value (golden-ratio hues)."""
    r, g, b = colorsys.hsv_to_rgb((value * 0.618033988749895) % 1.0, 0.75, 1.0)
    return [int(round(r * 255)), int(round(g * 255)), int(round(b * 255)), 255]


def image_label_metadata(version: str, lab: np.ndarray, scene: Scene, colors: bool) -> dict:
    """``image-label``: colours and properties per value present, and the source image."""
    counts = np.bincount(lab.ravel(), minlength=len(scene.nuclei) + 1)
    values = [n.label for n in scene.nuclei]
    properties = [{"label-value": v, "area (pixels)": int(counts[v]),
                   "class": "positive" if scene.positive[v] else "negative"} for v in values]
    rgba = {v: label_color(v) for v in values} if colors else None
    return build.image_label(version, colors=rgba, properties=properties, source="../../")


# --------------------------------------------------------------------------- writing


def default_chunks(axes: str, shape: Sequence[int]) -> tuple[int, ...]:
    """One plane of at most 256x256 per chunk, as Fractal and ome-zarr-py do."""
    return tuple(min(256, int(s)) if a in "yx" else 1 for a, s in zip(axes, shape))


def _level_chunks(chunks: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(max(1, min(int(c), int(s))) for c, s in zip(chunks, shape))


def _write_levels(group, arrays, *, version, axes, chunks, compressor, sharded) -> None:
    for k, data in enumerate(arrays):
        write_array(group, str(k), data, version=version, chunks=_level_chunks(chunks, data.shape),
                    axes=axes, compressor=compressor, sharded=sharded)


def _resolve_scale(axes: str, scale, translation):
    full = {**DEFAULT_SCALE, **(scale or {})}
    return {a: float(full[a]) for a in axes}, (dict(translation) if translation else None)


def write_labels(path: Path, scene: Scene, names: Sequence[str], *, version: str, levels: int,
                 downscale: int, chunks, scale, translation, label_colors: bool,
                 compressor, sharded: bool) -> None:
    """``labels`` group listing each label, each a multiscale integer image of the same levels."""
    image_group = open_new_group(path / "labels", version,
                                 build.ome_attributes(version, {"labels": build.labels(names)}))
    five_d = version in ("0.1", "0.2")  # every array is tczyx: labels keep a c axis of 1
    lax = scene.axes if five_d else label_axes(scene.axes)
    lchunks = tuple(c if a != "c" else 1 for a, c in zip(scene.axes, chunks) if a in lax)
    lscale = {a: scale[a] for a in lax}
    ltrans = {a: v for a, v in translation.items() if a in lax} if translation else None
    for name in names:
        lab = scene.labels["nuclei" if name == "nuclei" else "cells"]
        if five_d:
            lab = lab[:, None]
        attrs = {
            "multiscales": multiscales_metadata(version, name, lax, levels, downscale, lscale,
                                                ltrans),
            "image-label": image_label_metadata(version, lab, scene, label_colors),
        }
        group = child_group(image_group, name, build.ome_attributes(version, attrs))
        _write_levels(group, pyramid(lab, levels, downscale, label=True), version=version, axes=lax,
                      chunks=lchunks, compressor=compressor, sharded=sharded)


def write_image(
    path: str | Path,
    *,
    version: str = "0.4",
    axes: str = "czyx",
    shape: Sequence[int] = (3, 4, 256, 256),
    chunks: Sequence[int] | None = None,
    levels: int = 3,
    dtype: str = "uint16",
    channels: Sequence[str | Mapping[str, str]] | None = None,
    omero: bool = True,
    scale: Mapping[str, float] | None = None,
    translation: Mapping[str, float] | None = None,
    downscale: int = 2,
    labels: Sequence[str] = ("nuclei",),
    label_colors: bool = True,
    sharded: bool = False,
    tables: bool | Sequence[str] = False,
    seed: int = 0,
    compressor: str | None = "blosc",
) -> Path:
    """Write a multiscale image group (and its labels and tables); returns the group path.

    Labels named "nuclei" hold the nuclei; any other label name holds the cells (nucleus plus
    cytoplasm) with the same values. ``tables`` is False, True (all) or a list of table names.
    """
    check_version(version)
    path = Path(path)
    shape = tuple(int(s) for s in shape)
    if levels < 1 or downscale < 2:
        raise ValueError("levels must be >= 1 and downscale >= 2")
    if sharded and zarr_format(version) == 2:
        raise ValueError("sharding needs zarr v3, i.e. version='0.5'")
    scene = synthesize(axes, shape, dtype=dtype, seed=seed)
    chunks = tuple(chunks) if chunks is not None else default_chunks(axes, shape)
    if len(chunks) != len(axes):
        raise ValueError(f"chunks {chunks} do not match axes {axes!r}")
    scale_d, trans_d = _resolve_scale(axes, scale, translation)
    attrs: dict[str, Any] = {
        "multiscales": multiscales_metadata(version, path.name, axes, levels, downscale, scale_d,
                                            trans_d)}
    if omero:
        attrs["omero"] = omero_metadata(version, path.name, axes, scene.image, channels)
    group = open_new_group(path, version, build.ome_attributes(version, attrs))
    _write_levels(group, pyramid(scene.image, levels, downscale), version=version, axes=axes,
                  chunks=chunks, compressor=compressor, sharded=sharded)
    if labels:
        write_labels(path, scene, list(labels), version=version, levels=levels, downscale=downscale,
                     chunks=chunks, scale=scale_d, translation=trans_d, label_colors=label_colors,
                     compressor=compressor, sharded=sharded)
    if tables:
        from kit.demo.tables import write_tables

        write_tables(path, version=version, tables=None if tables is True else list(tables))
    return path
