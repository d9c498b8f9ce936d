"""Images as xarray objects: a labelled, lazy DataArray per level and a DataTree of levels.

Why here and not in ``image.py``: xarray is an optional extra, imported only when asked for,
and the labelling rules (physical coordinates, channel names, attrs) are one small thing.
Coordinates follow the NGFF transform of each level: ``physical = scale * index +
translation``; the ``c`` axis is labelled with the channel names. The data stays the image's
dask array, so nothing is read until it is computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np

from kit.errors import KitError

if TYPE_CHECKING:
    import xarray

    from kit.nodes.image import Image, Level

EXTRA = "pip install 'ngff-kit[xarray]'"


def import_xarray(what: str) -> Any:
    """The xarray module, or a KitError that names the extra to install."""
    try:
        import xarray
    except ImportError:
        raise KitError(f"{what} needs xarray, an optional dependency: {EXTRA}") from None
    return xarray


def data_array(image: Image, level: Level, data: da.Array, channel_names: list[str],
               xr: Any) -> xarray.DataArray:
    """``data`` (a level's dask array) with dims, physical coordinates and attrs."""
    axes = image.multiscale.axes
    coords: dict[str, Any] = {}
    for i, axis in enumerate(axes):
        meta = {k: v for k, v in (("units", axis.unit), ("type", axis.type)) if v}
        if axis.name == "c" and len(channel_names) == level.shape[i]:
            values: np.ndarray = np.asarray(channel_names, dtype=str)
        else:
            values = level.scale[i] * np.arange(level.shape[i]) + level.translation[i]
        coords[axis.name] = xr.Variable(axis.name, values, attrs=meta)
    name = image.multiscale.name or image.name or None
    attrs: dict[str, Any] = {
        "name": name,
        "ngff_version": image.version,
        "axis_units": {a.name: a.unit for a in axes if a.unit},
        "level": level.index,
        "path": level.path,
        "scale": list(level.scale),
        "translation": list(level.translation),
        "source": image.url,
    }
    return xr.DataArray(data, dims=[a.name for a in axes], coords=coords, name=name,
                        attrs={k: v for k, v in attrs.items() if v is not None})


def data_tree(image: Image, arrays: list[xarray.DataArray], xr: Any) -> xarray.DataTree:
    """One child node per level path (``"0"``, ``"1"``, ...), each with an ``image`` variable."""
    ms = image.multiscale
    attrs: dict[str, Any] = {
        "name": ms.name or image.name or None,
        "ngff_version": image.version,
        "axes": [a.name for a in ms.axes],
        "levels": [d.path for d in ms.datasets],
        "source": image.url,
    }
    root = xr.Dataset(attrs={k: v for k, v in attrs.items() if v is not None})
    tree = {"/": root}
    for array, dataset in zip(arrays, ms.datasets, strict=True):
        tree[dataset.path] = xr.Dataset({"image": array})
    return xr.DataTree.from_dict(tree)
