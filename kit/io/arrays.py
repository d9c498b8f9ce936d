"""Array access whose failures are kit errors naming the array.

zarr decodes chunks deep inside its codec pipeline; a truncated chunk surfaces there as a
blosc or zstd ``RuntimeError``. ``CheckedArray`` is what dask holds instead of the bare zarr
array: same shape, dtype and indexing, with failures mapped to ``InvalidData``.

It holds zarr's ``AsyncArray`` and reads each block with one hop to the kit loop, where the
stores live: zarr's own loop thread is never entered (``zarr.Array`` would run the read on
zarr's loop, which then hops to the kit loop once more for every chunk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from zarr.core.array import AsyncArray
from zarr.core.buffer import default_buffer_prototype

from kit.errors import InvalidData, KitError
from kit.io.loop import run_sync

if TYPE_CHECKING:
    import dask.array as da

_ND = default_buffer_prototype().nd_buffer


class CheckedArray:
    """A read-only view of a zarr array for dask: shape, dtype and ``__getitem__``.

    Picklable (the array's store travels with it), so dask.distributed workers read the
    blocks themselves, each on its own process's kit loop.
    """

    def __init__(self, array: AsyncArray, where: str):
        self.array = array
        self.where = where
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, selection: Any) -> np.ndarray:
        return run_sync(self.aget(selection))

    async def aget(self, selection: Any) -> np.ndarray:
        """One block (a tuple of slices from dask, or any basic selection) as numpy."""
        try:
            out = _block(self.shape, self.dtype, selection)
            if out is None:
                return np.asarray(await self.array.getitem(selection))
            await self.array.get_orthogonal_selection(selection, out=_ND.from_numpy_array(out))
            return out
        except KitError:
            raise
        except Exception as exc:  # noqa: BLE001 - codec errors have no common type
            raise decode_failure(exc, selection, self.where) from None

    def __repr__(self) -> str:
        return f"CheckedArray({self.where!r}, shape={self.shape}, dtype={self.dtype})"


def dask_array(array: CheckedArray, chunks: Any, key: tuple[Any, ...],
               meta: np.ndarray | None = None) -> da.Array:
    """A lazy dask array of ``array`` named by ``key`` (the same data, the same name, so graphs
    of one level merge). dask is imported here, on first use: it costs every other user of the
    kit ~0.7 s of import."""
    import dask.array as da
    from dask.base import tokenize

    return da.from_array(array, chunks=chunks, name="kit-" + tokenize(*key), lock=False,
                         asarray=True, fancy=False, meta=meta)


def decode_failure(exc: Exception, selection: Any, where: str) -> InvalidData:
    """The kit's error for a chunk read that failed inside zarr's codec pipeline."""
    return InvalidData(
        f"cannot decode the chunk data of {_describe(selection)} "
        f"({type(exc).__name__}: {str(exc)[:120]}); a chunk is truncated or corrupt",
        where=where,
    )


def _block(shape: tuple[int, ...], dtype: np.dtype, selection: Any) -> np.ndarray | None:
    """An empty array to decode a block into when ``selection`` is slices of step 1, one per
    axis (what dask asks for; zarr then decodes in place), else None (zarr allocates)."""
    if not isinstance(selection, tuple) or len(selection) != len(shape):
        return None
    sizes = []
    for s, n in zip(selection, shape):
        if not isinstance(s, slice) or s.step not in (None, 1):
            return None
        start, stop, _ = s.indices(n)
        sizes.append(max(0, stop - start))
    return np.empty(sizes, dtype)


def _describe(selection: Any) -> str:
    parts = selection if isinstance(selection, tuple) else (selection,)
    return "[" + ", ".join(
        f"{p.start or 0}:{p.stop}" if isinstance(p, slice) else repr(p) for p in parts
    ) + "]"
