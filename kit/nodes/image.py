"""Multiscale images and label images.

An ``Image`` knows its axes, channels and level paths from its group attributes alone; level
shapes come from the level arrays' metadata, fetched together the first time they are needed;
chunks are read only when a dask array built by ``to_dask`` is computed.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize
from zarr.core.array import AsyncArray

from kit.errors import InvalidMetadata, KitWarning, NotFound
from kit.io.arrays import CheckedArray
from kit.ngff import Channel, Multiscale, check_level_array, check_pyramid
from kit.io.boxes import Box, aread_boxes
from kit.io.loop import run_sync
from kit.nodes.base import Node, load_many
from kit.nodes.roi import matching_level, roi_instance, roi_selection
from kit.nodes.table import Table, load_tables


@dataclass(frozen=True)
class Level:
    """One resolution level: where it is, its array layout and its physical transform."""

    index: int
    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...]
    scale: tuple[float, ...]
    translation: tuple[float, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class Image(Node):
    """A multiscale image (NGFF ``multiscales``)."""

    kind = "image"

    @property
    def multiscale(self) -> Multiscale:
        return self.meta.multiscales[0]

    @property
    def axes(self) -> list[str]:
        return list(self.multiscale.axis_names)

    @property
    def units(self) -> dict[str, str | None]:
        return {a.name: a.unit for a in self.multiscale.axes}

    @property
    def channels(self) -> list[Channel]:
        """Channels from the omero block (label, color, window); empty when there is none."""
        return list(self.meta.omero.channels) if self.meta.omero else []

    @property
    def channel_names(self) -> list[str]:
        n = self.levels[0].shape[self.axes.index("c")] if "c" in self.axes else 1
        names = [c.label for c in self.channels]
        return [names[i] if i < len(names) and names[i] else str(i) for i in range(n)]

    # -- levels -------------------------------------------------------------------------------
    @property
    def levels(self) -> list[Level]:
        return self._sync("levels", self._load_levels)

    async def alevels(self) -> list[Level]:
        return await self._async("levels", self._load_levels)

    async def _load_levels(self) -> list[Level]:
        levels = list(await asyncio.gather(*(self.alevel(i) for i in range(len(self.multiscale.datasets)))))
        check_pyramid(self.multiscale, [lv.shape for lv in levels], where=self.location.where())
        return levels

    def level(self, index: int = 0) -> Level:
        """One level's layout, fetching only that level's array metadata (once)."""
        i = self._level_index(index)
        return self._sync(f"level:{i}", lambda: self._load_level(i))

    async def alevel(self, index: int) -> Level:
        return await self._async(f"level:{index}", lambda: self._load_level(index))

    async def _load_level(self, index: int) -> Level:
        d = self.multiscale.datasets[index]
        location = self.location.child(d.path)
        m = await location.array_metadata(attributes=False)
        dims = getattr(m, "dimension_names", None)
        for w in check_level_array(self.multiscale, index, tuple(m.shape), dims,
                                   where=location.where()):
            warnings.warn(w, KitWarning, stacklevel=3)
        # the array object costs no request now and saves a blocking hop for every read later
        self._cache[f"array:{index}"] = location.array_from(m)
        return Level(index, d.path, tuple(m.shape), np.dtype(_numpy_dtype(m)), _chunk_shape(m),
                     tuple(d.scale), tuple(d.translation))

    def level_array(self, level: int = 0) -> zarr.Array:
        """The zarr array of one level (built from the level's metadata, no extra request)."""
        return zarr.Array(self._async_array(self.level(level).index))

    def _async_array(self, index: int) -> AsyncArray:
        return self._cache[f"array:{index}"]  # put there by _load_level

    def box(self, level: int, selection: Sequence[Any]) -> Box:
        """A box of one loaded level for ``kit.io.boxes.read_boxes`` (no request)."""
        lv = self.level(level)
        return Box.of(self._async_array(lv.index), selection, self.location.where(lv.path))

    def read(self, level: int = 0, selection: Sequence[Any] | None = None) -> np.ndarray:
        """One level, or a box of it, as numpy: every chunk read at once, decoded in place.

        ``selection`` has one entry per axis: an int, a slice (step 1) or a list of indices
        (channels). For data that fits in memory this is faster than
        ``to_dask(level).compute()``, which copies every block once more to assemble them.
        """
        return run_sync(self.aread(level, selection))

    async def aread(self, level: int = 0, selection: Sequence[Any] | None = None) -> np.ndarray:
        lv = await self.alevel(self._level_index(level))
        box = self.box(lv.index, [slice(None)] * len(lv.shape) if selection is None else selection)
        return (await aread_boxes([box]))[0]

    def to_dask(self, level: int = 0, chunks: Any = None) -> da.Array:
        """A lazy dask array of one level.

        ``chunks`` defaults to the array's own (inner) chunks, right for slicing and previews;
        bulk work goes faster with bigger blocks (any dask ``chunks`` spec: ``(1, 1, -1, -1)``
        for whole czyx planes, ``-1`` for one block). To get a level as numpy, ``read`` is
        faster still.
        """
        lv = self.level(level)
        blocks = lv.chunks if chunks is None else chunks
        array = CheckedArray(self.level_array(lv.index), self.location.where(lv.path))
        name = "kit-" + tokenize(self.location.store.where(), self.path, lv.path, lv.shape,
                                 str(lv.dtype), lv.chunks, blocks)
        return da.from_array(array, chunks=blocks, name=name, lock=False, asarray=True,
                             fancy=False, meta=np.empty((0,) * len(lv.shape), dtype=lv.dtype))

    def _level_index(self, level: int) -> int:
        n = len(self.multiscale.datasets)
        index = level + n if level < 0 else level
        if not 0 <= index < n:
            raise IndexError(f"{self.url}: level {level} does not exist (this image has {n} levels)")
        return index

    def pick_level(self, max_size: int) -> int:
        """The coarsest level whose larger y/x side still covers ``max_size`` pixels."""
        spatial = [i for i, a in enumerate(self.axes) if a in ("y", "x")] or [-2, -1]
        chosen = 0
        for lv in self.levels:
            if max(lv.shape[i] for i in spatial) >= max_size:
                chosen = lv.index
        return chosen

    # -- related nodes ------------------------------------------------------------------------
    @property
    def labels(self) -> dict[str, Label]:
        return self._sync("labels", self._load_labels)

    async def alabels(self) -> dict[str, Label]:
        return await self._async("labels", self._load_labels)

    async def _load_labels(self) -> dict[str, Label]:
        labels_loc = self.location.child("labels")
        try:
            doc = await labels_loc.group()
        except NotFound:
            return {}
        from kit.ngff import parse_attributes

        meta = parse_attributes(doc.attributes, zarr_format=doc.zarr_format, where=labels_loc.where())
        nodes = await load_many({n: labels_loc.child(n) for n in meta.labels}, skip_missing=True)
        for name in meta.labels:
            if name not in nodes:
                warnings.warn(f"{labels_loc.where(name)}: listed label is missing", KitWarning,
                              stacklevel=2)
        return {k: v for k, v in nodes.items() if isinstance(v, Label)}

    @property
    def tables(self) -> dict[str, Table]:
        return self._sync("tables", self._load_tables)

    async def atables(self) -> dict[str, Table]:
        return await self._async("tables", self._load_tables)

    async def _load_tables(self) -> dict[str, Table]:
        return await load_tables(self.location.child("tables"), owner=self)

    def roi_slices(self, roi: Any, level: int = 0) -> tuple[slice, ...]:
        """Index slices of one level covering a ROI row, measured from this image's origin."""
        return roi_selection(self.axes, self.level(level), roi, origin=self._roi_origin(self.axes))

    def read_roi(self, roi: Any, level: int = 0) -> da.Array:
        """The part of one level inside a ROI row (x/y/z_micrometer, len_*_micrometer, t)."""
        return self.to_dask(self._level_index(level))[self.roi_slices(roi, level)]

    def read_roi_mask(self, roi: Any, label: Label | str, level: int = 0, *,
                      value: int | None = None) -> da.Array:
        """Boolean mask of one instance (``label == value``) over a masking-ROI row.

        The label level is the one with this image level's y/x pixel size, so the mask lines
        up with ``read_roi(roi, level)``; ``value`` defaults to the row's label.
        """
        label = self.labels[label] if isinstance(label, str) else label
        lv = self.level(level)
        scales = [tuple(d.scale) for d in label.multiscale.datasets]
        found = matching_level(self.axes, lv.scale, label.axes, scales)
        if found is None:
            raise InvalidMetadata(f"label {label.name!r} has no level with the pixel size of "
                                  f"image level {lv.index} {lv.scale} (its levels: {scales})",
                                  where=label.url)
        value = roi_instance(roi) if value is None else value
        sel = roi_selection(label.axes, label.level(found), roi, origin=self._roi_origin(label.axes))
        return label.to_dask(found)[sel] == value

    def _roi_origin(self, axes: list[str]) -> tuple[float, ...]:
        """This image's level-0 translation along ``axes``: where ROI coordinates start."""
        t0 = dict(zip(self.axes, self.multiscale.datasets[0].translation))
        return tuple(t0.get(a, 0.0) for a in axes)

    def _summary(self) -> str:
        shape = self.levels[0].shape if "levels" in self._cache else "?"
        return f"NGFF {self.version} {''.join(self.axes)} {shape}"


class Label(Image):
    """A label image: integer pixels, with colors and properties per label value."""

    kind = "label"

    @property
    def colors(self) -> dict[int, tuple[int, int, int, int]]:
        return dict(self.meta.image_label.colors) if self.meta.image_label else {}

    @property
    def properties(self) -> dict[int, dict]:
        return dict(self.meta.image_label.properties) if self.meta.image_label else {}

    @property
    def source(self) -> Image:
        """The image this label annotates (``image-label.source.image``, default ``../../``)."""
        rel = (self.meta.image_label.source_image if self.meta.image_label else None) or "../../"

        async def load() -> Image:
            from kit.nodes.base import load_node

            return await load_node(self.location.child(rel))

        return self._sync("source", load)


def _chunk_shape(meta: Any) -> tuple[int, ...]:
    """The read granularity: inner chunks of a sharded v3 array, else the chunk shape."""
    chunks = getattr(meta, "chunks", None)
    if isinstance(chunks, tuple):  # zarr v2 metadata
        return chunks
    grid = meta.chunk_grid.chunk_shape
    for codec in getattr(meta, "codecs", ()):
        inner = getattr(codec, "chunk_shape", None)
        if inner is not None:
            return tuple(inner)
    return tuple(grid)


def _numpy_dtype(meta: Any) -> Any:
    dtype = meta.dtype
    return dtype.to_native_dtype() if hasattr(dtype, "to_native_dtype") else dtype
