"""Array access whose failures are kit errors naming the array.

zarr decodes chunks deep inside its codec pipeline; a truncated chunk surfaces there as a
blosc or zstd ``RuntimeError``. ``CheckedArray`` is what dask holds instead of the bare zarr
array: same shape, dtype and indexing, with failures mapped to ``InvalidData``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import zarr

from kit.errors import InvalidData, KitError


class CheckedArray:
    """A read-only view of a zarr array for dask: shape, dtype and ``__getitem__``."""

    def __init__(self, array: zarr.Array, where: str):
        self.array = array
        self.where = where
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, selection: Any) -> np.ndarray:
        try:
            return self.array[selection]
        except KitError:
            raise
        except Exception as exc:  # noqa: BLE001 - codec errors have no common type
            raise decode_failure(exc, selection, self.where) from None

    def __repr__(self) -> str:
        return f"CheckedArray({self.where!r}, shape={self.shape}, dtype={self.dtype})"


def decode_failure(exc: Exception, selection: Any, where: str) -> InvalidData:
    """The kit's error for a chunk read that failed inside zarr's codec pipeline."""
    return InvalidData(
        f"cannot decode the chunk data of {_describe(selection)} "
        f"({type(exc).__name__}: {str(exc)[:120]}); a chunk is truncated or corrupt",
        where=where,
    )


def _describe(selection: Any) -> str:
    parts = selection if isinstance(selection, tuple) else (selection,)
    return "[" + ", ".join(
        f"{p.start or 0}:{p.stop}" if isinstance(p, slice) else repr(p) for p in parts
    ) + "]"
