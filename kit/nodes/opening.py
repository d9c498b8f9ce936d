"""Any source to the node its metadata describes: the one implementation behind ``kit.open``.

It lives in the node layer so the widgets (which open what a user types) and the package root
share it without importing upward.
"""

from __future__ import annotations

from typing import Any

from kit.auth import Credential
from kit.io.loop import run_sync
from kit.io.sources import open_location
from kit.nodes.base import Node, load_node


async def aopen_node(source: Any, *, auth: Credential | None = None,
                     storage_options: dict | None = None) -> Node:
    """The async twin of ``open_node`` (for code already on the kit loop)."""
    return await load_node(open_location(source, auth=auth, storage_options=storage_options))


def open_node(source: Any, *, auth: Credential | None = None,
              storage_options: dict | None = None) -> Node:
    """``source`` (path, URL, refs, mapper, Store) opened lazily as its node."""
    location = open_location(source, auth=auth, storage_options=storage_options)
    return run_sync(load_node(location))
