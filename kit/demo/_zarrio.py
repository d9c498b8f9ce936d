"""Thin zarr-python helpers shared by the demo writers.

One place decides how an NGFF version maps to a zarr format (0.4 -> v2 with "/" chunk keys,
0.5 -> v3 with ``dimension_names`` and attributes under ``ome``), so the image, table and plate
writers cannot disagree about it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec
from zarr.storage import LocalStore

VERSIONS = ("0.4", "0.5")


def check_version(version: str) -> str:
    """Reject versions the generator cannot write, before anything touches the disk."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
    return version


def zarr_format(version: str) -> int:
    """NGFF 0.4 lives on zarr v2, 0.5 on zarr v3 (RFC-2)."""
    return 2 if check_version(version) == "0.4" else 3


def ome_attrs(version: str, content: dict[str, Any]) -> dict[str, Any]:
    """Wrap OME metadata the way each version stores it (0.5: under ``ome`` with a version)."""
    if version == "0.4":
        return dict(content)
    return {"ome": {"version": "0.5", **content}}


def open_new_group(path: str | Path, version: str, attrs: dict[str, Any] | None = None) -> zarr.Group:
    """Create (or replace) a group at a local path with the version's zarr format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return zarr.open_group(LocalStore(path), mode="w", zarr_format=zarr_format(version),
                           attributes=attrs or {})


def child_group(parent: zarr.Group, name: str, attrs: dict[str, Any] | None = None) -> zarr.Group:
    """Create a sub-group; attributes written once so each node costs one metadata document."""
    return parent.create_group(name, overwrite=True, attributes=attrs or {})


def image_compressor(version: str, compressor: str | None):
    """Compressor object in the vocabulary of the zarr format in use."""
    if compressor is None:
        return None
    if compressor not in ("blosc", "zstd"):
        raise ValueError(f"compressor must be 'blosc', 'zstd' or None, not {compressor!r}")
    if version == "0.4":
        if compressor == "blosc":
            return numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
        return numcodecs.Zstd(level=5)
    if compressor == "blosc":
        return BloscCodec(cname="zstd", clevel=5, shuffle=BloscShuffle.shuffle)
    return ZstdCodec(level=5)


def shard_shape(shape: Sequence[int], chunks: Sequence[int], axes: str) -> tuple[int, ...]:
    """Shards of up to 2x2 chunks in y/x and the whole extent elsewhere: a few shards per level."""
    out = []
    for size, chunk, axis in zip(shape, chunks, axes):
        n_chunks = max(1, math.ceil(size / chunk))
        out.append(chunk * (min(n_chunks, 2) if axis in "yx" else n_chunks))
    return tuple(out)


def write_array(
    group: zarr.Group,
    name: str,
    data: np.ndarray,
    *,
    version: str,
    chunks: Sequence[int],
    axes: str | None = None,
    compressor: str | None = "blosc",
    sharded: bool = False,
) -> zarr.Array:
    """Write one pixel array with the layout the version prescribes."""
    kwargs: dict[str, Any] = {
        "shape": data.shape,
        "chunks": tuple(int(c) for c in chunks),
        "dtype": data.dtype,
        "fill_value": 0,
        "compressors": image_compressor(version, compressor),
        "overwrite": True,
    }
    if version == "0.4":
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    else:
        if axes is not None:
            kwargs["dimension_names"] = list(axes)
        if sharded:
            kwargs["shards"] = shard_shape(data.shape, kwargs["chunks"], axes or "")
    array = group.create_array(name, **kwargs)
    array[...] = data
    return array


def write_table_array(group: zarr.Group, name: str, data: np.ndarray, *, version: str,
                      attrs: dict[str, Any]) -> zarr.Array:
    """Write a table column the way anndata does: v2 blosc/lz4, v3 auto-sharded zstd."""
    is_str = data.dtype.kind in "OUT"
    kwargs: dict[str, Any] = {
        "shape": data.shape,
        "dtype": str if is_str else data.dtype,
        "chunks": tuple(max(1, s) for s in data.shape),
        "overwrite": True,
        "attributes": attrs,
    }
    if version == "0.4":
        kwargs["compressors"] = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    else:
        kwargs["shards"] = "auto"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*shard shape inference is experimental.*")
        array = group.create_array(name, **kwargs)
    if data.size:
        array[...] = data.astype(object) if is_str and version == "0.4" else data
    return array
