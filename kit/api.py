"""``kit.open``: one call from any source to the node its metadata describes."""

from __future__ import annotations

from typing import Any, cast

from kit.auth import Credential
from kit.nodes import Group, Image, Label, Node, Plate, Well
from kit.nodes.opening import open_node


def open(  # noqa: A001 - the public name the contract fixes
    source: Any,
    *,
    auth: Credential | None = None,
    storage_options: dict | None = None,
) -> Plate | Well | Image | Label | Group:
    """Open an OME-Zarr (or any zarr hierarchy) lazily, wherever it lives.

    ``source`` is a path, a URL (http, https, s3, file, any fsspec protocol), a refs document
    (file, URL or dict; .lindi.json, .lindi.tar, kerchunk), an fsspec mapper or a zarr Store.
    ``auth`` applies to this tree only; use ``kit.login()`` or ``kit.credentials.register``
    to keep credentials for the session.
    """
    node = open_node(source, auth=auth, storage_options=storage_options)
    return cast("Plate | Well | Image | Label | Group", node)


__all__ = ["open", "Node"]
