"""Many boxes of many zarr arrays, read together: one round trip of chunks for a whole plate.

A preview, a plate overview or a viewer frame needs a few small boxes of many arrays. zarr
reads one box with at most ``async.concurrency`` (10) chunks in flight, and dask reads one
chunk per worker thread, so both add round trips once the boxes hold hundreds of chunks.
``read_boxes`` splits every box where the array's stored objects (chunks, or shards) meet and
starts every read at once on the kit loop, where the store's one concurrency limit decides how
many are on the wire.

A piece of a zarr v2 array (not sharded, not of object dtype) that selects ints and slices is
read directly: one store get of its chunk, decoded with the array's own numcodecs (inline on
the loop when the chunk is small, ``INLINE_DECODE_BYTES``; on a thread otherwise), so the
chunks of a plate overview skip zarr's indexers, batches and a thread hop per chunk. zarr reads
everything else (v3 codec chains, shards, index lists).

Metadata may claim any shape (a hostile level says 2**62 pixels a side), so the number of
stored objects a read touches is computed arithmetically, before anything is enumerated or
allocated, and a read touching more than ``MAX_CHUNKS_PER_READ`` (default 100 000: a whole
100k x 100k plane in 1024-pixel chunks, or a 96-well plate overview many times over) is refused
with a KitError saying how many and the limit. Override it per call (``max_chunks=``) or for the
session (``kit.io.boxes.MAX_CHUNKS_PER_READ = ...``).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numcodecs.compat import ensure_ndarray_like
from zarr.core.array import AsyncArray
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata import ArrayV2Metadata

from kit.errors import KitError
from kit.io.arrays import decode_failure
from kit.io.loop import run_reporting

# One axis of a box: an int drops the axis, a slice (step 1) keeps a range, a tuple of ints
# picks those indices in that order (channels).
Index = int | slice | tuple[int, ...]
ProgressCallback = Callable[[int, int], None]  # (chunks read, chunks in all)
_PROTOTYPE = default_buffer_prototype()
_ND = _PROTOTYPE.nd_buffer
ZarrIndex = int | slice | np.ndarray
Part = tuple[ZarrIndex, Any]  # (zarr index in one stored object, destination or None)

#: Most stored objects (chunks, or shards) one read_boxes/aread_boxes call may touch.
MAX_CHUNKS_PER_READ = 100_000
#: A chunk up to this many bytes (decoded) is decoded on the loop, larger ones on a thread:
#: a thread hop costs more than decoding a small chunk, and a big one must not stall the loop.
INLINE_DECODE_BYTES = 1 << 20


@dataclass(frozen=True)
class Piece:
    """One stored object's share of a box: what to ask zarr for and where the answer goes."""

    selection: tuple[int | slice | np.ndarray, ...]  # zarr orthogonal selection in one object
    put: tuple[slice | np.ndarray, ...]              # where in the box's result, per kept axis

    @property
    def in_place(self) -> bool:
        """True when the destination is a view, so zarr can decode straight into it."""
        return bool(self.put) and all(isinstance(p, slice) for p in self.put)


@dataclass(frozen=True)
class Box:
    """A box of one zarr array, split for reading along the array's stored objects.

    ``chunks`` is the shape of one stored object: the chunk, or the shard of a sharded array
    (zarr then reads the shard's index once and only the inner chunks the box needs).
    """

    array: AsyncArray
    selection: tuple[Index, ...]
    chunks: tuple[int, ...]
    where: str

    @classmethod
    def of(cls, array: AsyncArray, selection: Sequence[Any], where: str) -> Box:
        """A box with every index checked against the array's shape and made non-negative."""
        shape = tuple(array.shape)
        if len(selection) != len(shape):
            raise IndexError(f"{where}: {len(selection)} indices for an array of rank {len(shape)}")
        return cls(array, tuple(_normalise(s, n, where) for s, n in zip(selection, shape)),
                   tuple(max(1, int(c)) for c in (array.shards or array.chunks)), where)

    @property
    def shape(self) -> tuple[int, ...]:
        out = []
        for s in self.selection:
            if isinstance(s, slice):
                out.append(s.stop - s.start)
            elif isinstance(s, tuple):
                out.append(len(s))
        return tuple(out)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.array.dtype)

    @property
    def n_pieces(self) -> int:
        """How many stored objects the box touches, counted without enumerating them."""
        return math.prod(_axis_count(s, c) for s, c in zip(self.selection, self.chunks))

    def pieces(self) -> list[Piece]:
        if self.n_pieces == 0:  # an empty box: no axis's objects are enumerated (one may be huge)
            return []
        per_axis = [_axis_parts(s, c) for s, c in zip(self.selection, self.chunks)]
        return [Piece(tuple(z for z, _ in combo), tuple(p for _, p in combo if p is not None))
                for combo in itertools.product(*per_axis)]


def _normalise(index: Any, size: int, where: str) -> Index:
    if isinstance(index, slice):
        start, stop, step = index.indices(size)
        if step != 1:
            raise IndexError(f"{where}: boxes take contiguous ranges, not step {step}")
        return slice(start, max(start, stop))
    if isinstance(index, (list, tuple, np.ndarray)):
        return tuple(_integer(i, size, where) for i in index)
    return _integer(index, size, where)


def _integer(index: Any, size: int, where: str) -> int:
    i = int(index)
    j = i + size if i < 0 else i
    if not 0 <= j < size:
        raise IndexError(f"{where}: index {i} out of range (size {size})")
    return j


def _axis_count(index: Index, chunk: int) -> int:
    """How many stored objects along one axis the index touches (what _axis_parts returns)."""
    if isinstance(index, int):
        return 1
    if isinstance(index, slice):
        if index.stop <= index.start:
            return 0
        return (index.stop - 1) // chunk - index.start // chunk + 1
    return len({i // chunk for i in index})


def _axis_parts(index: Index, chunk: int) -> list[Part]:
    """(zarr index, destination) per stored object the index touches (None: axis dropped)."""
    if isinstance(index, int):
        return [(index, None)]
    parts: list[Part] = []
    if isinstance(index, slice):
        start = index.start
        while start < index.stop:
            end = min(index.stop, (start // chunk + 1) * chunk)
            parts.append((slice(start, end), slice(start - index.start, end - index.start)))
            start = end
        return parts
    by_chunk: dict[int, list[tuple[int, int]]] = {}
    for position, i in enumerate(index):
        by_chunk.setdefault(i // chunk, []).append((position, i))
    for members in by_chunk.values():  # a run of consecutive indices is a slice: zarr's fast path
        positions, indices = [p for p, _ in members], [i for _, i in members]
        parts.append((_as_slice(indices) or np.array(indices),
                      _as_slice(positions) or np.array(positions)))
    return parts


def _as_slice(indices: list[int]) -> slice | None:
    """``indices`` as a slice when they are consecutive and increasing, else None."""
    if indices == list(range(indices[0], indices[0] + len(indices))):
        return slice(indices[0], indices[-1] + 1)
    return None


def _place(out: np.ndarray, block: np.ndarray, put: tuple[slice | np.ndarray, ...]) -> None:
    if sum(isinstance(p, np.ndarray) for p in put) > 1:  # numpy would pair arrays up, not cross
        put = np.ix_(*(p if isinstance(p, np.ndarray) else np.arange(n)[p]
                       for p, n in zip(put, out.shape)))
    out[put] = block


class _Direct:
    """Whole-chunk reads of one zarr v2 array without zarr's indexing machinery: the chunk's
    bytes from the store, decoded by the array's compressor and filters (as zarr's V2Codec)."""

    def __init__(self, array: AsyncArray, meta: ArrayV2Metadata) -> None:
        self.store, self.path = array.store_path.store, array.store_path.path
        self.meta = meta
        self.chunks = tuple(meta.chunks)
        self.dtype = meta.dtype.to_native_dtype()
        fill = meta.fill_value
        self.fill = meta.dtype.default_scalar() if fill is None else fill
        self.nbytes = math.prod(self.chunks) * self.dtype.itemsize

    @classmethod
    def of(cls, array: AsyncArray) -> _Direct | None:
        meta = array.metadata
        if not isinstance(meta, ArrayV2Metadata) or meta.dtype.to_native_dtype().hasobject:
            return None
        return cls(array, meta)

    def key(self, coords: tuple[int, ...]) -> str:
        name = self.meta.encode_chunk_key(coords)
        return f"{self.path}/{name}" if self.path else name

    def decode(self, raw: Any) -> np.ndarray:
        meta = self.meta
        chunk = meta.compressor.decode(raw) if meta.compressor else raw
        for f in reversed(meta.filters or ()):
            chunk = f.decode(chunk)
        chunk = ensure_ndarray_like(chunk).view(self.dtype)
        return chunk.reshape(-1, order="A").reshape(self.chunks, order=meta.order)

    async def read(self, selection: tuple[Any, ...], out: np.ndarray,
                   put: tuple[slice | np.ndarray, ...]) -> bool:
        """Read ``selection`` (ints and slices inside one chunk) into ``out[put]``; False when
        the selection is not one this path reads (zarr reads it)."""
        coords: list[int] = []
        local: list[int | slice] = []
        for index, size in zip(selection, self.chunks):
            if isinstance(index, slice):
                c = index.start // size
                local.append(slice(index.start - c * size, index.stop - c * size))
            elif isinstance(index, (int, np.integer)):
                c = int(index) // size
                local.append(int(index) - c * size)
            else:
                return False
            coords.append(c)
        buf = await self.store.get(self.key(tuple(coords)), _PROTOTYPE)
        if buf is None:
            _place(out, np.asarray(self.fill, self.dtype), put)
            return True
        raw = buf.as_numpy_array()
        if self.nbytes <= INLINE_DECODE_BYTES:
            chunk = self.decode(raw)
        else:
            chunk = await asyncio.to_thread(self.decode, raw)
        _place(out, chunk[tuple(local)], put)
        return True


class _Batch:
    """The chunk reads of several boxes, counted as they finish (for a progress bar)."""

    def __init__(self, boxes: Sequence[Box], max_chunks: int | None = None):
        self.boxes = list(boxes)
        _check_size(self.boxes, MAX_CHUNKS_PER_READ if max_chunks is None else max_chunks)
        self.work = [(k, p) for k, b in enumerate(self.boxes) for p in b.pieces()]
        self.direct = [_Direct.of(b.array) for b in self.boxes]
        self.done = 0

    @property
    def total(self) -> int:
        return len(self.work)

    async def run(self) -> list[np.ndarray]:
        outs = [_allocate(b) for b in self.boxes]

        async def read(k: int, piece: Piece) -> None:
            box, direct = self.boxes[k], self.direct[k]
            try:
                if direct is None or not await direct.read(piece.selection, outs[k], piece.put):
                    into = _ND.from_numpy_array(outs[k][piece.put]) if piece.in_place else None
                    block = await box.array.get_orthogonal_selection(piece.selection, out=into)
                    if into is None:
                        _place(outs[k], np.asarray(block), piece.put)
            except KitError:
                raise
            except Exception as exc:  # noqa: BLE001 - codec errors have no common type
                raise decode_failure(exc, piece.selection, box.where) from None
            self.done += 1

        if len(self.work) == 1:  # one chunk (a thumbnail): no task of its own
            await read(*self.work[0])
            return outs
        tasks = [asyncio.ensure_future(read(k, p)) for k, p in self.work]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        return outs


def _check_size(boxes: list[Box], limit: int) -> None:
    counts = [b.n_pieces for b in boxes]
    total = sum(counts)
    if total > limit:
        largest = boxes[counts.index(max(counts))]
        several = f" ({len(boxes)} boxes; this one {max(counts)})" if len(boxes) > 1 else ""
        raise KitError(f"this read touches {total} stored chunks{several}, more than the limit "
                       f"of {limit} per read (kit.io.boxes.MAX_CHUNKS_PER_READ); read a smaller "
                       f"box or a coarser level", where=largest.where)


def _allocate(box: Box) -> np.ndarray:
    try:
        return np.empty(box.shape, box.dtype)
    except (MemoryError, ValueError) as exc:  # ValueError: more elements than numpy addresses
        raise KitError(f"a box of shape {list(box.shape)} ({box.dtype}) cannot be held in "
                       f"memory ({exc})", where=box.where) from None


async def aread_boxes(boxes: Sequence[Box], *, max_chunks: int | None = None
                      ) -> list[np.ndarray]:
    """Every box as a numpy array; all their chunks are read concurrently.

    Raises KitError, before any request, when the boxes touch more than ``max_chunks``
    (default ``MAX_CHUNKS_PER_READ``) stored objects.
    """
    return await _Batch(boxes, max_chunks).run()


def read_boxes(boxes: Sequence[Box], progress: ProgressCallback | None = None, *,
               max_chunks: int | None = None) -> list[np.ndarray]:
    """``aread_boxes`` from synchronous code; ``progress(done, total)`` runs in the caller's
    thread (where widgets may be touched) while chunks arrive, and at the end."""
    batch = _Batch(boxes, max_chunks)
    report = None if progress is None else (lambda: progress(batch.done, batch.total))
    return run_reporting(batch.run(), report)


__all__ = ["Box", "read_boxes", "aread_boxes", "MAX_CHUNKS_PER_READ"]
