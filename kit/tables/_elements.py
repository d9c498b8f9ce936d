"""AnnData-on-zarr elements (arrays, strings, categoricals, nullables, sparse) read without anndata.

Each element costs its metadata document(s) and its chunks, nothing else: no listing, no
``.zmetadata`` (anndata leaves stale copies inside table groups). In zarr v2 an element is
tried as an array (``.zarray``) first, the usual case; only when that is missing is it read
as a group through ``.zattrs``. In zarr v3 one ``zarr.json`` says both.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, overload

import numcodecs
import numpy as np
import pandas as pd
from numcodecs.compat import ensure_contiguous_ndarray
from zarr.core.array import AsyncArray
from zarr.storage import StorePath

from kit.errors import InvalidData, InvalidMetadata, KitError, NotFound
from kit.io.location import Location


@dataclass(frozen=True)
class Element:
    """One AnnData element: its encoding attributes and, for an array, its metadata."""

    location: Location
    attrs: dict
    array: Any = None  # ArrayV2Metadata | ArrayV3Metadata for arrays, None for groups

    @property
    def encoding(self) -> str | None:
        return self.attrs.get("encoding-type")


@overload
async def element(loc: Location, zarr_format: int, *,
                  required: Literal[True] = True) -> Element: ...


@overload
async def element(loc: Location, zarr_format: int, *, required: bool) -> Element | None: ...


async def element(loc: Location, zarr_format: int, *, required: bool = True) -> Element | None:
    """The element at ``loc`` from its metadata, or None when absent and not ``required``."""
    if zarr_format == 3:
        doc = await loc.json("zarr.json")
        if doc is not None:
            attrs = doc.get("attributes") or {}
            if doc.get("node_type") == "array":
                return Element(loc, attrs, await loc.array_metadata())  # answered from the cache
            return Element(loc, attrs)
    else:
        if await loc.json(".zarray") is not None:
            return Element(loc, {}, await loc.array_metadata(attributes=False))
        attrs = await loc.json(".zattrs")
        if attrs is not None:
            return Element(loc, attrs)
    if required:
        raise NotFound("element is missing", where=loc.where())
    return None


async def group_attrs(loc: Location, zarr_format: int) -> dict:
    """Attributes of a node known to be a group (obs, var): one document, no array probe."""
    doc = await loc.json("zarr.json" if zarr_format == 3 else ".zattrs")
    if doc is None:
        raise NotFound("group is missing", where=loc.where())
    return (doc.get("attributes") or {}) if zarr_format == 3 else doc


class _CheckedBlosc(numcodecs.Blosc):
    """Blosc that refuses a buffer shorter than its header says.

    numcodecs trusts the header: a truncated chunk stored in blosc's memcpy mode (small
    tables always are) decodes to whatever lies past the buffer instead of failing.
    """

    def decode(self, buf: Any, out: Any = None) -> Any:
        raw = ensure_contiguous_ndarray(buf).view(np.uint8).reshape(-1)
        stated = int.from_bytes(raw[12:16].tobytes(), "little") if raw.size >= 16 else None
        if stated is None or stated > raw.size:
            raise ValueError(f"blosc chunk holds {raw.size} bytes, its header says {stated}")
        return super().decode(buf, out)


def _checked(meta: Any) -> Any:
    compressor = getattr(meta, "compressor", None)  # zarr v2 only; v3 tables are sharded,
    if isinstance(compressor, numcodecs.Blosc):      # and their shard index has a crc32c
        config = {k: v for k, v in compressor.get_config().items() if k != "id"}
        return dataclasses.replace(meta, compressor=_CheckedBlosc(**config))
    return meta


async def read_array(el: Element) -> np.ndarray:
    """All of an array's data; strings come back as an object array of ``str``."""
    if el.array is None:
        raise InvalidMetadata(f"expected an array, found a group ({el.encoding})",
                              where=el.location.where())
    array = AsyncArray(metadata=_checked(el.array),
                       store_path=StorePath(el.location.store, el.location.path))
    try:
        data = await array.getitem(Ellipsis)
    except KitError:
        raise
    except Exception as exc:  # noqa: BLE001 - codecs raise many types for bad bytes
        raise InvalidData(f"cannot decode the array's chunks ({type(exc).__name__}: "
                          f"{str(exc)[:160]}); a chunk is truncated or corrupt",
                          where=el.location.where()) from None
    out = np.asarray(data)
    if out.dtype.kind in "OTU":
        out = out.astype(object)
    return out


async def _children(el: Element, zarr_format: int, *names: str) -> list[Element]:
    return list(await asyncio.gather(*(element(el.location.child(n), zarr_format) for n in names)))


async def read_column(el: Element, zarr_format: int) -> Any:
    """A 1-D element as something pandas takes: ndarray, Categorical or a masked array."""
    enc = el.encoding
    if el.array is not None:
        return await read_array(el)
    if enc == "categorical":
        codes_el, cats_el = await _children(el, zarr_format, "codes", "categories")
        codes, cats = await asyncio.gather(read_array(codes_el), read_array(cats_el))
        try:
            return pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(cats),
                                             ordered=bool(el.attrs.get("ordered", False)))
        except ValueError as exc:
            raise InvalidMetadata(f"invalid categorical: {exc}",
                                  where=el.location.where()) from None
    if enc in ("nullable-integer", "nullable-boolean", "nullable-string-array"):
        values_el, mask_el = await _children(el, zarr_format, "values", "mask")
        values, mask = await asyncio.gather(read_array(values_el), read_array(mask_el))
        if values.shape != mask.shape:
            raise InvalidMetadata(f"values {values.shape} and mask {mask.shape} differ in shape",
                                  where=el.location.where())
        mask = mask.astype(bool)
        if enc == "nullable-integer":
            return pd.arrays.IntegerArray(values, mask)
        if enc == "nullable-boolean":
            return pd.arrays.BooleanArray(values.astype(bool), mask)
        values = values.astype(object)
        values[mask] = None
        return pd.array(values, dtype="string")
    raise KitError(f"unsupported AnnData column encoding {enc!r}", where=el.location.where())


async def read_matrix(el: Element, zarr_format: int) -> np.ndarray:
    """``X`` as a dense 2-D array (dense arrays as stored, CSR/CSC expanded)."""
    if el.array is not None:
        data = await read_array(el)
        if data.ndim != 2:
            raise InvalidMetadata(f"X must be 2-D, found shape {data.shape}",
                                  where=el.location.where())
        return data
    if el.encoding not in ("csr_matrix", "csc_matrix"):
        raise KitError(f"unsupported X encoding {el.encoding!r}", where=el.location.where())
    parts = await _children(el, zarr_format, "data", "indices", "indptr")
    data, indices, indptr = await asyncio.gather(*(read_array(p) for p in parts))
    shape = tuple(el.attrs.get("shape", ()))
    if len(shape) != 2:
        raise InvalidMetadata("sparse X has no 2-D 'shape' attribute", where=el.location.where())
    dense = np.zeros(shape, dtype=data.dtype)
    major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    try:
        if el.encoding == "csr_matrix":
            dense[major, indices] = data
        else:
            dense[indices, major] = data
    except (IndexError, ValueError) as exc:
        raise InvalidMetadata(f"inconsistent sparse X: {exc}", where=el.location.where()) from None
    return dense
