"""Images as xarray objects: a labelled, lazy DataArray per level and a DataTree of levels.

Why here and not in ``image.py``: xarray is an optional extra, imported only when asked for,
and the labelling rules (physical coordinates, channel names, attrs) are one small thing.
Coordinates follow the NGFF transform of each level: ``physical = scale * index +
translation``; the ``c`` axis is labelled with the channel names. The data stays the image's
dask array, so nothing is read until it is computed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kit.errors import KitError
from kit.ngff import Multiscale

if TYPE_CHECKING:
    import dask.array as da
    import xarray

EXTRA = "pip install 'ngff-kit[xarray]'"


class LevelLike(Protocol):
    """What labelling needs of a level (``kit.nodes.image.Level``; no import: no cycle)."""

    @property
    def index(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def scale(self) -> tuple[float, ...]: ...
    @property
    def translation(self) -> tuple[float, ...]: ...


def import_xarray(what: str) -> Any:
    """The xarray module, or a KitError that names the extra to install."""
    try:  # on first use only: importing xarray costs every other user of the kit time
        return importlib.import_module("xarray")
    except ImportError:
        raise KitError(f"{what} needs xarray, an optional dependency: {EXTRA}") from None


def data_array(xr: Any, data: da.Array, ms: Multiscale, level: LevelLike,
               channel_names: Sequence[str], about: dict[str, Any]) -> xarray.DataArray:
    """``data`` (a level's dask array) with dims, physical coordinates and attrs.

    ``about`` holds the image's own attrs (name, ngff_version, source)."""
    coords: dict[str, Any] = {}
    for i, axis in enumerate(ms.axes):
        meta = {k: v for k, v in (("units", axis.unit), ("type", axis.type)) if v}
        if axis.name == "c" and len(channel_names) == level.shape[i]:
            values: np.ndarray = np.asarray(channel_names, dtype=str)
        else:
            values = level.scale[i] * np.arange(level.shape[i]) + level.translation[i]
        coords[axis.name] = xr.Variable(axis.name, values, attrs=meta)
    attrs: dict[str, Any] = {
        **about,
        "axis_units": {a.name: a.unit for a in ms.axes if a.unit},
        "level": level.index,
        "path": level.path,
        "scale": list(level.scale),
        "translation": list(level.translation),
    }
    return xr.DataArray(data, dims=[a.name for a in ms.axes], coords=coords,
                        name=about.get("name"),
                        attrs={k: v for k, v in attrs.items() if v is not None})


def data_tree(xr: Any, ms: Multiscale, arrays: list[xarray.DataArray],
              about: dict[str, Any]) -> xarray.DataTree:
    """One child node per level path (``"0"``, ``"1"``, ...), each with an ``image`` variable."""
    attrs = {**about, "axes": [a.name for a in ms.axes], "levels": [d.path for d in ms.datasets]}
    tree = {"/": xr.Dataset(attrs={k: v for k, v in attrs.items() if v is not None})}
    for array, dataset in zip(arrays, ms.datasets, strict=True):
        tree[dataset.path] = xr.Dataset({"image": array})
    return xr.DataTree.from_dict(tree)
