"""Any source to the node its metadata describes: the one implementation of ``kit.open``.

It lives in the node layer so the widgets (which open what a user types) and the package root
share it without importing upward; ``kit.api`` re-exports it.
"""

from __future__ import annotations

import os
from typing import Any, cast

from kit.auth import Credential
from kit.io.loop import run_sync
from kit.io.sources import open_location
from kit.nodes.base import load_node
from kit.nodes.group import Group
from kit.nodes.hcs import Plate, Well
from kit.nodes.image import Image, Label

Opened = Plate | Well | Image | Label | Group


def open(
    source: Any,
    *,
    auth: Credential | None = None,
    storage_options: dict | None = None,
    cache: bool | str | os.PathLike[str] | None = None,
    cache_size: int | str | None = None,
) -> Opened:
    """Open an OME-Zarr (or any zarr hierarchy) lazily, wherever it lives.

    ``source`` is a path, a URL (http, https, s3, file, any fsspec protocol), a refs document
    (file, URL or dict; .lindi.json, .lindi.tar, kerchunk), an fsspec mapper or a zarr Store.
    ``auth`` applies to this tree only; use ``kit.login()`` or ``kit.credentials.register``
    to keep credentials for the session.
    ``cache`` keeps remote documents and chunks on disk (True: the default folder, or a folder;
    ``NGFF_KIT_CACHE`` sets it for every open), bounded by ``cache_size`` bytes (or "2GB";
    default 5 GB); ``kit.cache.offline()`` then reads from it alone.
    """
    location = open_location(source, auth=auth, storage_options=storage_options, cache=cache,
                             cache_size=cache_size)
    return cast(Opened, run_sync(load_node(location)))

