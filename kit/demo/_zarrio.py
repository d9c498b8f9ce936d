"""Thin zarr-python helpers shared by the demo writers.

One place decides how an NGFF version maps to a zarr format (0.1 -> v2 with "." chunk keys,
0.2-0.4 -> v2 with "/" chunk keys (0.3 also ``_ARRAY_DIMENSIONS``), 0.5 and 0.6 -> v3 with
``dimension_names`` and attributes under ``ome``), so the image, table and plate writers
cannot disagree about it.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec
from zarr.core.sync import sync as zarr_sync
from zarr.storage import LocalStore

from kit.ngff.build import check_version, uses_ome_block  # the writers' one check


def zarr_format(version: str) -> Literal[2, 3]:
    """NGFF 0.1-0.4 live on zarr v2, 0.5 and 0.6 on zarr v3 (RFC-2)."""
    return 3 if uses_ome_block(check_version(version)) else 2


def open_new_group(path: str | Path, version: str, attrs: dict[str, Any] | None = None
                   ) -> zarr.Group:
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
    if zarr_format(version) == 2:
        if compressor == "blosc":
            return numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
        return numcodecs.Zstd(level=3)
    if compressor == "blosc":
        return BloscCodec(cname="zstd", clevel=3, shuffle=BloscShuffle.shuffle)
    return ZstdCodec(level=3)


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
    if zarr_format(version) == 2:
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "." if version == "0.1" else "/"}
        if version == "0.3" and axes is not None:
            kwargs["attributes"] = {"_ARRAY_DIMENSIONS": list(axes)}
    else:
        if axes is not None:
            kwargs["dimension_names"] = list(axes)
        if sharded:
            kwargs["shards"] = shard_shape(data.shape, kwargs["chunks"], axes or "")
    array = group.create_array(name, **kwargs)
    array[...] = data
    return array


def table_array_kwargs(
    data: np.ndarray, version: str, attrs: dict[str, Any]
) -> tuple[dict, np.ndarray]:
    """How anndata stores a table column: v2 blosc/lz4 (vlen-utf8 strings), v3 auto-sharded zstd
    (``string`` data type). Returns create_array keyword arguments and the data to write."""
    is_str = data.dtype.kind in "OUT"
    kwargs: dict[str, Any] = {
        "shape": data.shape,
        "dtype": str if is_str else data.dtype,
        "chunks": tuple(max(1, s) for s in data.shape),
        "attributes": attrs,
    }
    if zarr_format(version) == 2:
        kwargs["compressors"] = numcodecs.Blosc(cname="lz4", clevel=5,
                                                shuffle=numcodecs.Blosc.SHUFFLE)
        data = data.astype(object) if is_str else data
    else:
        kwargs["shards"] = "auto"
    return kwargs, data


async def write_nodes(parent: zarr.Group, groups: Sequence[tuple[str, dict]],
                      arrays: Sequence[tuple[str, np.ndarray, dict]], version: str) -> None:
    """Write many small nodes under ``parent`` concurrently: one event-loop trip per table
    instead of two per node. Groups are written first, depth by depth, then every array."""
    agroup = parent._async_group
    by_depth: dict[int, list] = {}
    for path, attrs in groups:
        by_depth.setdefault(path.count("/"), []).append((path, attrs))
    for depth in sorted(by_depth):
        await asyncio.gather(*(agroup.create_group(p, attributes=a) for p, a in by_depth[depth]))

    async def one(path: str, data: np.ndarray, attrs: dict) -> None:
        kwargs, data = table_array_kwargs(data, version, attrs)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*shard shape inference is experimental.*")
            array = await agroup.create_array(path, **kwargs)
        if data.size:
            await array.setitem(tuple(slice(None) for _ in data.shape), data)

    await asyncio.gather(*(one(p, d, a) for p, d, a in arrays))


def run(coro):
    """Run a coroutine on zarr's own I/O loop (safe from notebooks and threads)."""
    return zarr_sync(coro)
