"""The benchmark jobs written with ngio and ome-zarr-py; runs inside the peers' venv.

    python jobs_peers.py READER.JOB REMOTE_URL LOCAL_PATH     (see protocol.py)

Credentials come from the environment: ``BENCH_AUTH`` is the Authorization header value
(ngio and ome-zarr-py's FsspecStore send it on every request); ``BENCH_USERINFO`` is
``user:password`` for ome-zarr-py, which re-opens child nodes from URL strings and would
otherwise reach them without credentials (so the Basic credential rides in the URL for it).
An ``s3://`` source (``s3_jobs.py``) is read by ngio through s3fs with the AWS_* variables.
Each job does what a careful user of that library would write, with its fastest options
(ngio: ``cache=True``, ``max_workers="auto"``), and returns a small summary.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import aiohttp  # noqa: F401 - imported lazily by fsspec on the first URL; not timed
import fsspec.implementations.http  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import serve  # noqa: E402

warnings.simplefilter("ignore")
PREVIEW = 512


def fsspec_store(source: str, remote: bool):
    """The store a peer is given: an FsspecStore carrying the Authorization header."""
    if not remote:
        return source
    from zarr.storage import FsspecStore

    if source.startswith("s3://"):  # s3_jobs.py: s3fs with the run's AWS_* variables
        return FsspecStore.from_url(source, read_only=True, storage_options={
            "key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
            "endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    headers = {"Authorization": os.environ["BENCH_AUTH"]}
    return FsspecStore.from_url(source, read_only=True,
                                storage_options={"client_kwargs": {"headers": headers}})


def normalise(plane: np.ndarray) -> np.ndarray:
    """(C, H, W) -> uint8 per channel between its 0.1 and 99.9 percentiles (as a preview does)."""
    plane = plane.astype(np.float32)
    lo, hi = np.percentile(plane.reshape(plane.shape[0], -1), [0.1, 99.9], axis=1)
    scale = np.where(hi > lo, hi - lo, 1.0)
    return (np.clip((plane - lo[:, None, None]) / scale[:, None, None], 0, 1) * 255).astype(np.uint8)


def yx_plane(data: np.ndarray, axes: list[str]) -> np.ndarray:
    """Middle z, first t, all channels -> (C, H, W) (a dask array is indexed, then read)."""
    index = []
    for name, size in zip(axes, data.shape):
        index.append(size // 2 if name == "z" else 0 if name == "t" else slice(None))
    plane = np.asarray(data[tuple(index)])
    return plane if "c" in axes else plane[None]


def coarsest_covering(shapes: list[tuple[int, ...]], axes: list[str], size: int) -> int:
    iy, ix = axes.index("y"), axes.index("x")
    chosen = 0
    for i, shape in enumerate(shapes):
        if max(shape[iy], shape[ix]) >= size:
            chosen = i
    return chosen


# -- ngio ---------------------------------------------------------------------------------------
def ngio_map(func, items):
    from ngio.common._concurrency import _map_workers  # ngio's own "auto" pool

    return _map_workers(func, items, "auto")


def ngio_preview(source: str, remote: bool):
    import ngio

    c = ngio.open_ome_zarr_container(fsspec_store(source, remote), cache=True, mode="r")
    images = [c.get_image(path=p) for p in c.level_paths]
    axes = list(images[0].axes)
    level = coarsest_covering([im.shape for im in images], axes, PREVIEW)
    rgb = normalise(yx_plane(images[level].get_as_dask(), axes))  # reads only that plane
    return {"level": level, "shape": list(rgb.shape)}


def ngio_plate(source: str, remote: bool):
    import ngio

    return ngio.open_ome_zarr_plate(fsspec_store(source, remote), cache=True, mode="r")


def ngio_images(source: str, remote: bool):
    images = ngio_plate(source, remote).get_images(max_workers="auto")
    return {"images": len(images)}


def ngio_overview(source: str, remote: bool):
    plate = ngio_plate(source, remote)
    images = plate.get_images(max_workers="auto")
    first = {}
    for path, container in images.items():  # each well's first field
        first.setdefault(path.rsplit("/", 1)[0], container)

    def lowest(container):
        return yx_plane(container.get_image(path=container.level_paths[-1]).get_as_numpy(),
                        list(container.get_image(path=container.level_paths[-1]).axes))

    planes = ngio_map(lowest, list(first.values()))
    return {"wells": len(planes), "shape": list(planes[0].shape)}


def ngio_tables(source: str, remote: bool):
    import ngio

    c = ngio.open_ome_zarr_container(fsspec_store(source, remote), cache=True, mode="r")
    shapes = {name: list(c.get_table(name).dataframe.shape) for name in c.list_tables()}
    return {"tables": shapes}


# -- ome-zarr-py --------------------------------------------------------------------------------
def omezarr_location(source: str, remote: bool):
    """A ZarrLocation on an FsspecStore. ome-zarr-py re-opens every child (wells, fields,
    labels) from a URL string, dropping the store and its headers, so a header-only store
    (``BENCH_OMEZARR_AUTH=header``) gets 401 below the root; by default the Basic credential
    rides in the URL's userinfo instead (aiohttp refuses a header and userinfo together)."""
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.io import ZarrLocation

    fmt = FormatV05() if os.environ.get("BENCH_NGFF") == "0.5" else FormatV04()
    if not remote:
        return ZarrLocation(source, mode="r", fmt=fmt)
    from zarr.storage import FsspecStore

    if os.environ.get("BENCH_OMEZARR_AUTH") == "header":
        store = fsspec_store(source, remote)
    else:
        parts = urlsplit(source)
        url = urlunsplit(parts._replace(netloc=f"{os.environ['BENCH_USERINFO']}@{parts.netloc}"))
        store = FsspecStore.from_url(url, read_only=True)
    return ZarrLocation(store, mode="r", fmt=fmt)


def omezarr_preview(source: str, remote: bool):
    from ome_zarr.reader import Reader

    node = next(iter(Reader(omezarr_location(source, remote))()))
    axes = [a["name"] if isinstance(a, dict) else a for a in node.metadata["axes"]]
    level = coarsest_covering([a.shape for a in node.data], axes, PREVIEW)
    rgb = normalise(yx_plane(node.data[level], axes))  # dask: reads only that plane
    return {"level": level, "shape": list(rgb.shape)}


def omezarr_images(source: str, remote: bool):
    """ome-zarr-py has no plate walker beyond the first well: walk wells and fields by hand."""
    root = omezarr_location(source, remote)
    found = 0
    for well in root.root_attrs["plate"]["wells"]:
        wloc = root.create(well["path"])
        for image in wloc.root_attrs["well"]["images"]:
            iloc = root.create(f"{well['path']}/{image['path']}")
            found += bool(iloc.root_attrs.get("multiscales"))
    return {"images": found}


def omezarr_overview(source: str, remote: bool):
    from ome_zarr.reader import Reader

    node = next(iter(Reader(omezarr_location(source, remote))()))
    mosaic = node.data[-1].compute()  # the stitched plate at the lowest level
    return {"shape": list(mosaic.shape)}


JOBS = {
    "ngio.preview": ngio_preview, "ngio.images": ngio_images, "ngio.overview": ngio_overview,
    "ngio.tables": ngio_tables,
    "ome-zarr-py.preview": omezarr_preview, "ome-zarr-py.images": omezarr_images,
    "ome-zarr-py.overview": omezarr_overview,
}

if __name__ == "__main__":
    serve(JOBS)
