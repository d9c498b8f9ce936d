"""Turn whatever a user passes to ``kit.open`` into a ``Location`` in a ``KitStore``.

One function decides which backend serves a source: a local folder, HTTP(S) with the
credential resolved for its origin, S3 through s3fs, a refs document (LINDI/kerchunk), any
other fsspec URL, a user-made fsspec filesystem mapper, or a zarr Store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

from kit.auth import Credential, redact_url, resolve_http_credential
from kit.errors import KitError, NotFound
from kit.io.kitstore import KitStore
from kit.io.location import Location

REFS_SUFFIXES = (".lindi.json", ".lindi.tar", ".refs.json", ".kerchunk.json", ".json")


def open_location(
    source: Any,
    *,
    auth: Credential | None = None,
    storage_options: dict | None = None,
) -> Location:
    """The root ``Location`` of ``source``, with its backend chosen and credentials bound."""
    if isinstance(source, Location):
        return source
    if isinstance(source, KitStore):
        return Location(source)
    if isinstance(source, dict):
        return _refs_location(source, auth=auth, storage_options=storage_options)
    if isinstance(source, Store):
        return Location(KitStore(source, display=type(source).__name__))
    if _is_fsspec_mapper(source):
        store = FsspecStore.from_mapper(source, read_only=True)
        return Location(KitStore(store, display=f"{source.fs.protocol}:{source.root}"))
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise KitError(f"cannot open a {type(source).__name__}: pass a path, URL, refs dict, "
                       "fsspec mapper or zarr Store")
    if _is_refs_name(source):
        return _refs_location(source, auth=auth, storage_options=storage_options)
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _http_location(source, auth)
    if scheme in ("s3", "s3a"):
        return _s3_location(source, auth, storage_options)
    if scheme == "file":
        return _local_location(urlsplit(source).path)
    if scheme and len(scheme) > 1:
        return _fsspec_location(source, storage_options)
    return _local_location(source)


def _is_fsspec_mapper(source: Any) -> bool:
    return hasattr(source, "fs") and hasattr(source, "root") and hasattr(source, "__getitem__")


def _is_refs_name(source: str) -> bool:
    path = urlsplit(source).path if "://" in source else source
    return path.endswith(REFS_SUFFIXES) and not path.endswith((".zarr.json",))


def _local_location(path: str) -> Location:
    p = Path(path).expanduser()
    if not p.exists():
        raise NotFound("no such file or directory", where=str(p))
    if not p.is_dir():
        raise NotFound("is a file, not a zarr/OME-Zarr directory", where=str(p))
    return Location(KitStore(LocalStore(p.resolve(), read_only=True), display=str(p)))


def _http_location(url: str, auth: Credential | None) -> Location:
    from kit.io.http import HttpStore

    credential = resolve_http_credential(url, auth)
    store = HttpStore(url, credential=credential)
    return Location(KitStore(store, display=redact_url(url)))


def _s3_location(url: str, auth: Credential | None, storage_options: dict | None) -> Location:
    from kit.io.s3 import s3_store

    store = s3_store(url, auth, storage_options)
    return Location(KitStore(store, display=f"s3://{store.path}"))


def _fsspec_location(url: str, storage_options: dict | None) -> Location:
    try:
        store = FsspecStore.from_url(url, storage_options=storage_options, read_only=True)
    except (ImportError, ValueError) as exc:
        raise KitError(f"cannot open with fsspec: {exc}", where=redact_url(url)) from None
    return Location(KitStore(store, display=redact_url(url)))


def _refs_location(source: Any, *, auth: Credential | None, storage_options: dict | None) -> Location:
    from kit.io.refs import open_refs

    return open_refs(source, auth=auth, storage_options=storage_options)
