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
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.core.array import AsyncArray

from kit.errors import InvalidMetadata, KitError, KitWarning, LevelNotFound, NotFound
from kit.io import boxes
from kit.io.arrays import CheckedArray, dask_array
from kit.io.boxes import Box, aread_boxes
from kit.io.loop import run_sync
from kit.ngff import (
    Channel,
    ImageMeta,
    LabelMeta,
    Multiscale,
    check_level_array,
    check_pyramid,
    parse_attributes,
)
from kit.ngff.coordinate_systems import coordinate_systems, level_chain
from kit.ngff.legacy import implied_scale
from kit.ngff.models import CoordinateSystem
from kit.ngff.transforms import Mapping
from kit.nodes.base import Node, NodeMap, load_many, load_node, register
from kit.nodes.roi import matching_level, roi_instance, roi_selection
from kit.nodes.table import Table, load_tables
from kit.nodes.to_xarray import data_array, data_tree, import_xarray

if TYPE_CHECKING:
    import dask.array as da
    import xarray


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


@register
class Image(Node):
    """A multiscale image (NGFF ``multiscales``)."""

    kind = "image"
    parts = ("levels", "labels", "tables")
    meta: ImageMeta

    @property
    def multiscale(self) -> Multiscale:
        if not self.meta.multiscales:
            raise InvalidMetadata(f"this {self.kind} has no multiscales, so no levels to read "
                                  "(a label image MUST have them)", where=self.url)
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
        """One name per channel of level 0: the omero label, else the channel's index."""
        return self._channel_names(self.level(0) if "c" in self.axes else None)

    async def achannel_names(self) -> list[str]:
        return self._channel_names(await self.alevel(0) if "c" in self.axes else None)

    def _channel_names(self, level0: Level | None) -> list[str]:
        n = level0.shape[self.axes.index("c")] if level0 is not None else 1
        names = [c.label for c in self.channels]
        return [(names[i] or str(i)) if i < len(names) else str(i) for i in range(n)]

    # -- levels -------------------------------------------------------------------------------
    @property
    def levels(self) -> list[Level]:
        return self._sync("levels", self.alevels)

    async def alevels(self) -> list[Level]:
        return await self._async("levels", self._load_levels)

    async def _load_levels(self) -> list[Level]:
        n = len(self.multiscale.datasets)
        levels = list(await asyncio.gather(*(self.alevel(i) for i in range(n))))
        check_pyramid(self.multiscale, [lv.shape for lv in levels], where=self.location.where())
        return levels

    def level(self, index: int = 0) -> Level:
        """One level's layout, fetching only that level's array metadata (once)."""
        i = self.level_index(index)
        return self._sync(f"level:{i}", lambda: self._load_level(i))

    async def alevel(self, index: int = 0) -> Level:
        i = self.level_index(index)
        return await self._async(f"level:{i}", lambda: self._load_level(i))

    async def _load_level(self, index: int) -> Level:
        d = self.multiscale.datasets[index]
        location = self.location.child(d.path)
        m = await location.array_metadata(attributes=False)
        shape = tuple(m.shape)
        if 0 in shape:
            raise InvalidMetadata(f"level {index} (path {d.path!r}) has shape {shape}: an image "
                                  "level must not be empty", where=location.where())
        dims = getattr(m, "dimension_names", None)
        for w in check_level_array(self.multiscale, index, shape, dims, where=location.where()):
            warnings.warn(w, KitWarning, stacklevel=3)
        # the array object costs no request now and saves a blocking hop for every read later
        self._cache[f"array:{index}"] = location.array_from(m)
        scale = tuple(d.scale)
        if self.multiscale.scale_from_shapes and index > 0:  # NGFF 0.1-0.3: no transforms
            scale = implied_scale(self.multiscale, (await self.alevel(0)).shape, shape)
        return Level(index, d.path, shape, np.dtype(_numpy_dtype(m)), _chunk_shape(m),
                     scale, tuple(d.translation))

    # -- coordinate systems (RFC-5; one implied "physical" system before 0.6) ------------------
    @property
    def coordinate_systems(self) -> list[CoordinateSystem]:
        """Named coordinate systems; the first is the one the levels map into."""
        return list(coordinate_systems(self.multiscale))

    def transform(self, level: int = 0, to: str | None = None) -> Mapping:
        """The mapping from one level's array indices to coordinate system ``to`` (default:
        the first); parameters stored in arrays are read here, once."""
        return run_sync(self.atransform(level, to))

    async def atransform(self, level: int = 0, to: str | None = None) -> Mapping:
        lv = await self.alevel(level)
        chain, target = level_chain(self.multiscale, lv.index, lv.scale, lv.translation, to,
                                    where=self.url)
        parameters: dict[str, np.ndarray] = {}
        for t in chain:
            if t.is_nonlinear:
                warnings.warn(f"{self.url}: {t.field}: {t.type} fields are parsed but not "
                              "rendered (the mapping has no affine matrix)", KitWarning,
                              stacklevel=2)
            for path, _ in t.paths():
                if path not in parameters:
                    loc = self.location.child(path)
                    array = loc.array_from(await loc.array_metadata(attributes=False))
                    parameters[path] = np.asarray(await array.getitem(()))
        return Mapping(lv.path, target, chain, len(lv.shape), parameters)

    def level_array(self, level: int = 0) -> zarr.Array:
        """The zarr array of one level (built from the level's metadata, no extra request)."""
        return zarr.Array(self._async_array(self.level(level).index))

    async def alevel_array(self, level: int = 0) -> AsyncArray:
        """The async zarr array of one level (zarr's ``AsyncArray``, for code on a loop)."""
        return self._async_array((await self.alevel(level)).index)

    def _async_array(self, index: int) -> AsyncArray:
        return self._cache[f"array:{index}"]  # put there by _load_level

    def box(self, level: int, selection: Sequence[Any]) -> Box:
        """A box of one loaded level for ``kit.io.boxes.read_boxes`` (no request)."""
        return self._box(self.level(level), selection)

    async def abox(self, level: int, selection: Sequence[Any]) -> Box:
        return self._box(await self.alevel(level), selection)

    def _box(self, lv: Level, selection: Sequence[Any]) -> Box:
        return Box.of(self._async_array(lv.index), selection, self.location.where(lv.path))

    def read(self, level: int = 0, selection: Sequence[Any] | None = None) -> np.ndarray:
        """One level, or a box of it, as numpy: every chunk read at once, decoded in place.

        ``selection`` has one entry per axis: an int, a slice (step 1) or a list of indices
        (channels). For data that fits in memory this is faster than
        ``to_dask(level).compute()``, which copies every block once more to assemble them.
        """
        return run_sync(self.aread(level, selection))

    async def aread(self, level: int = 0, selection: Sequence[Any] | None = None) -> np.ndarray:
        lv = await self.alevel(level)
        box = self._box(lv, [slice(None)] * len(lv.shape) if selection is None else selection)
        return (await aread_boxes([box]))[0]

    def to_dask(self, level: int = 0, chunks: Any = None) -> da.Array:
        """A lazy dask array of one level.

        ``chunks`` defaults to the array's own (inner) chunks, right for slicing and previews;
        bulk work goes faster with bigger blocks (any dask ``chunks`` spec: ``(1, 1, -1, -1)``
        for whole czyx planes, ``-1`` for one block). To get a level as numpy, ``read`` is
        faster still. Each block is read on the kit loop (one hop per block, none through
        zarr's own loop); the graph pickles for dask.distributed workers. A graph of more
        than ``kit.io.boxes.MAX_CHUNKS_PER_READ`` blocks is refused (KitError) before it is built.
        """
        return self._dask(self.level(level), chunks)

    async def ato_dask(self, level: int = 0, chunks: Any = None) -> da.Array:
        return self._dask(await self.alevel(level), chunks)

    def _dask(self, lv: Level, chunks: Any) -> da.Array:
        blocks = lv.chunks if chunks is None else chunks
        # dask lists every block's size per axis while building the graph: a level claiming
        # 2**62 pixels a side would hang there, so the blocks are counted first.
        n, limit = _dask_blocks(lv.shape, lv.chunks, blocks), boxes.MAX_CHUNKS_PER_READ
        if n > limit:
            raise KitError(f"to_dask({lv.index}) would make {n} blocks, more than the limit of "
                           f"{limit} per read (kit.io.boxes.MAX_CHUNKS_PER_READ); use bigger "
                           f"blocks (chunks=...) or a coarser level",
                           where=self.location.where(lv.path))
        array = CheckedArray(self._async_array(lv.index), self.location.where(lv.path))
        key = (self.location.store.where(), self.path, lv.path, lv.shape, str(lv.dtype),
               lv.chunks, blocks)
        return dask_array(array, blocks, key, meta=np.empty((0,) * len(lv.shape), lv.dtype))

    def to_xarray(self, level: int = 0, chunks: Any = None) -> xarray.DataArray:
        """One level as a lazy ``xarray.DataArray`` (needs the ``xarray`` extra).

        Dims are the axes; coordinates are physical (``scale * index + translation`` of the
        level, units in each coordinate's attrs), ``c`` holds the channel names; attrs carry
        the NGFF version, name, level path and source. The data is ``to_dask(level, chunks)``.
        """
        return run_sync(self.ato_xarray(level, chunks))

    async def ato_xarray(self, level: int = 0, chunks: Any = None) -> xarray.DataArray:
        xr = import_xarray("Image.to_xarray")
        lv = await self.alevel(level)
        return data_array(xr, self._dask(lv, chunks), self.multiscale, lv,
                          await self.achannel_names(), self._xarray_attrs())

    def to_datatree(self, chunks: Any = None) -> xarray.DataTree:
        """Every level as an ``xarray.DataTree``: one child per level path ("0", "1", ...)
        holding an ``image`` DataArray as ``to_xarray`` gives it (the multiscale convention)."""
        return run_sync(self.ato_datatree(chunks))

    async def ato_datatree(self, chunks: Any = None) -> xarray.DataTree:
        xr = import_xarray("Image.to_datatree")
        levels, names = await self.alevels(), await self.achannel_names()
        about = self._xarray_attrs()
        arrays = [data_array(xr, self._dask(lv, chunks), self.multiscale, lv, names, about)
                  for lv in levels]
        return data_tree(xr, self.multiscale, arrays, about)

    def _xarray_attrs(self) -> dict[str, Any]:
        return {"name": self.multiscale.name or self.name or None, "ngff_version": self.version,
                "source": self.url}

    def level_index(self, level: int) -> int:
        """``level`` (negative counts from the coarsest) as an index, else LevelNotFound."""
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
            raise TypeError(f"{self.url}: a level is an integer index, not {level!r}")
        n = len(self.multiscale.datasets)
        index = int(level) + n if level < 0 else int(level)
        if not 0 <= index < n:
            raise LevelNotFound(f"level {level} does not exist (this {self.kind} has {n} "
                                f"levels: 0 to {n - 1}; -1 is the coarsest)", where=self.url)
        return index

    def pick_level(self, max_size: int) -> int:
        """The coarsest level whose larger y/x side still covers ``max_size`` pixels."""
        return self._pick_level(self.levels, max_size)

    async def apick_level(self, max_size: int) -> int:
        return self._pick_level(await self.alevels(), max_size)

    def _pick_level(self, levels: list[Level], max_size: int) -> int:
        spatial = [i for i, a in enumerate(self.axes) if a in ("y", "x")] or [-2, -1]
        chosen = 0
        for lv in levels:
            if max(lv.shape[i] for i in spatial) >= max_size:
                chosen = lv.index
        return chosen

    # -- related nodes ------------------------------------------------------------------------
    @property
    def labels(self) -> dict[str, Label]:
        """The label images of ``labels/``, by name ({} when there is none)."""
        return self._sync("labels", self.alabels)

    async def alabels(self) -> dict[str, Label]:
        return await self._async("labels", self._load_labels)

    async def _load_labels(self) -> dict[str, Label]:
        labels_loc = self.location.child("labels")
        found: NodeMap[Label] = NodeMap(what="label", where=labels_loc.where())
        try:
            doc = await labels_loc.group()
        except NotFound:
            return found
        meta = parse_attributes(doc.attributes, zarr_format=doc.zarr_format,
                                where=labels_loc.where())
        names = list(getattr(meta, "labels", ()))
        nodes = await load_many({n: labels_loc.child(n) for n in names}, skip_missing=True)
        for name in names:
            if name not in nodes:
                warnings.warn(f"{labels_loc.where(name)}: listed label is missing", KitWarning,
                              stacklevel=2)
        found.update({k: v for k, v in nodes.items() if isinstance(v, Label)})
        return found

    @property
    def tables(self) -> dict[str, Table]:
        """The tables of ``tables/``, by name ({} when there is none)."""
        return self._sync("tables", self.atables)

    async def atables(self) -> dict[str, Table]:
        return await self._async("tables", lambda: load_tables(self.location.child("tables"),
                                                               owner=self))

    # -- ROIs ---------------------------------------------------------------------------------
    def roi_slices(self, roi: Any, level: int = 0) -> tuple[slice, ...]:
        """Index slices of one level covering a ROI row, measured from this image's origin."""
        return self._roi_slices(roi, self.level(level))

    async def aroi_slices(self, roi: Any, level: int = 0) -> tuple[slice, ...]:
        return self._roi_slices(roi, await self.alevel(level))

    def _roi_slices(self, roi: Any, lv: Level) -> tuple[slice, ...]:
        return roi_selection(self.axes, lv, roi, origin=self._roi_origin(self.axes),
                             where=self.url)

    def read_roi(self, roi: Any, level: int = 0) -> da.Array:
        """The part of one level inside a ROI row (x/y/z_micrometer, len_*_micrometer, t)."""
        lv = self.level(level)
        return self._dask(lv, None)[self._roi_slices(roi, lv)]

    async def aread_roi(self, roi: Any, level: int = 0) -> da.Array:
        lv = await self.alevel(level)
        return self._dask(lv, None)[self._roi_slices(roi, lv)]

    def read_roi_mask(self, roi: Any, label: Label | str, level: int = 0, *,
                      value: int | None = None) -> da.Array:
        """Boolean mask of one instance (``label == value``) over a masking-ROI row.

        The label level is the one with this image level's y/x pixel size, so the mask lines
        up with ``read_roi(roi, level)``; ``value`` defaults to the row's label.
        """
        return run_sync(self.aread_roi_mask(roi, label, level, value=value))

    async def aread_roi_mask(self, roi: Any, label: Label | str, level: int = 0, *,
                             value: int | None = None) -> da.Array:
        node = (await self.alabels())[label] if isinstance(label, str) else label
        lv = await self.alevel(level)
        scales = [tuple(d.scale) for d in node.multiscale.datasets]
        found = matching_level(self.axes, lv.scale, node.axes, scales)
        if found is None:
            raise InvalidMetadata(f"label {node.name!r} has no level with the pixel size of "
                                  f"image level {lv.index} {lv.scale} (its levels: {scales})",
                                  where=node.url)
        value = roi_instance(roi, where=self.url) if value is None else value
        label_level = await node.alevel(found)
        sel = roi_selection(node.axes, label_level, roi, origin=self._roi_origin(node.axes),
                            where=self.url)
        return node._dask(label_level, None)[sel] == value

    def _roi_origin(self, axes: list[str]) -> tuple[float, ...]:
        """This image's level-0 translation along ``axes``: where ROI coordinates start."""
        t0 = dict(zip(self.axes, self.multiscale.datasets[0].translation))
        return tuple(t0.get(a, 0.0) for a in axes)

    def _summary(self) -> str:
        if not self.meta.multiscales:
            return f"NGFF {self.version} {self.kind} without multiscales"
        shape = self.levels[0].shape if "levels" in self._cache else "?"
        return f"NGFF {self.version} {''.join(self.axes)} {shape}"


@register
class Label(Image):
    """A label image: integer pixels, with colors and properties per label value."""

    kind = "label"
    meta: LabelMeta

    @property
    def colors(self) -> dict[int, tuple[int, int, int, int]]:
        return dict(self.meta.image_label.colors)

    @property
    def properties(self) -> dict[int, dict]:
        return dict(self.meta.image_label.properties)

    @property
    def source(self) -> Image:
        """The image this label annotates (``image-label.source.image``, default ``../../``)."""
        return self._sync("source", self.asource)

    async def asource(self) -> Image:
        async def load() -> Image:
            node = await load_node(self.location.child(self.meta.image_label.source_or_default))
            if not isinstance(node, Image):
                raise InvalidMetadata(f"the source of label {self.name!r} is a {node.kind}, not "
                                      "an image", where=node.url)
            return node

        return await self._async("source", load)


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


def _dask_blocks(shape: tuple[int, ...], stored: tuple[int, ...], spec: Any) -> int:
    """How many blocks dask's ``chunks`` ``spec`` makes of ``shape``, counted without listing them.

    Per axis: an int is a block size, -1 or None one block, a tuple the block sizes themselves;
    anything else ("auto", "64 MiB") is counted as the stored chunks, an upper bound (dask's
    automatic blocks are multiples of them). A dict names some axes; the others are one block.
    """
    ndim = len(shape)
    if isinstance(spec, dict):
        per_axis = [spec.get(i, spec.get(i - ndim, -1)) for i in range(ndim)]
    elif isinstance(spec, (list, tuple)) and len(spec) == ndim:
        per_axis = list(spec)
    else:
        per_axis = [spec] * ndim
    count = 1
    for size, chunk, block in zip(shape, stored, per_axis):
        if block is None or (isinstance(block, (int, np.integer)) and block == -1):
            n = 1
        elif isinstance(block, (int, np.integer)) and block > 0:
            n = -(-size // int(block))
        elif isinstance(block, (list, tuple)):
            n = len(block)
        else:
            n = -(-size // max(1, chunk))
        count *= max(1, n)
    return count
