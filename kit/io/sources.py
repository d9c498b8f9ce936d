"""Turn whatever a user passes to ``kit.open`` into a ``Location`` in a ``KitStore``.

One function decides which backend serves a source: a local folder, HTTP(S) with the
credential resolved for its origin, S3, GCS and Azure Blob through obstore (S3 with
``storage_options`` through s3fs), a refs document (LINDI/kerchunk), any
other fsspec URL, a user-made fsspec filesystem mapper, or a zarr Store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

from kit.auth import Credential, Scope, origin_of, redact, resolve
from kit.auth.env import AWS_ENDPOINT_VARIABLES, first_env
from kit.cache.keys import namespace as cache_namespace
from kit.cache.offline import is_offline
from kit.cache.settings import choose
from kit.cache.store import CachedStore
from kit.errors import KitError, NotCached, NotFound, RemoteError
from kit.io.kitstore import KitStore
from kit.io.location import Location
from kit.io.loop import trimmed
from kit.io.objstore import CLOUD_SCHEMES
from kit.io.zipstore import ZipStore, is_zip_name

_BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")
REFS_SUFFIXES = (".lindi.json", ".lindi.tar", ".refs.json", ".kerchunk.json", ".json")


def open_location(
    source: Any,
    *,
    auth: Credential | None = None,
    storage_options: dict | None = None,
    cache: bool | str | os.PathLike[str] | None = None,
    cache_size: int | str | None = None,
) -> Location:
    """The root ``Location`` of ``source``, with its backend chosen and credentials bound.

    ``cache`` (True, a folder, False; None follows ``NGFF_KIT_CACHE`` and offline mode) puts
    a ``kit.cache.CachedStore`` under the ``KitStore`` of remote sources; local folders, and
    stores or mappers given as objects (no known origin), are read directly.
    """
    disk = choose(cache, cache_size)
    name = _cache_namespace(source, auth)
    if disk is None and name is not None and is_offline():
        raise NotCached("reads are offline (kit.cache.offline() or NGFF_KIT_OFFLINE) and "
                        "cache=False leaves nothing to read from", where=redact(name))
    if is_offline() and name is not None and _is_refs_name(str(source)) and "://" in name:
        raise NotCached("a remote refs document is read when it is opened and is not kept in "
                        "the cache, so it cannot be opened offline", where=redact(name))
    try:
        location = _open_location(source, auth=auth, storage_options=storage_options)
    except KitError as exc:
        raise trimmed(exc)  # noqa: B904
    if disk is None or name is None or location.path:
        return location
    store = location.store
    cached = KitStore(CachedStore(store.inner, disk, name), display=store.display,
                      concurrency=store.concurrency)
    return Location(cached)


def _cache_namespace(source: Any, auth: Credential | None) -> str | None:
    """Where a source's cache entries live: its URL's origin and path (no credential, query or
    signature), a refs document's location; None for what is not cached."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        return None  # a Store, mapper, dict or Location: no origin to key by
    scheme = urlsplit(source).scheme.lower()
    if _is_refs_name(source) and scheme in ("", "file"):
        return "refs:" + str(Path(urlsplit(source).path if scheme else source).resolve()) + "/"
    if scheme in ("", "file") or len(scheme) == 1:
        return None  # a local folder or .ozx needs no cache
    endpoint = getattr(auth, "endpoint_url", None) or (
        first_env(*AWS_ENDPOINT_VARIABLES) if scheme in ("s3", "s3a") else None)
    return cache_namespace(source, endpoint=endpoint)


def _open_location(
    source: Any, *, auth: Credential | None, storage_options: dict | None
) -> Location:
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
    zip_capable = (scheme in ("http", "https", "file") or len(scheme) <= 1  # "" or a drive
                   or (scheme in CLOUD_SCHEMES and not storage_options))
    if zip_capable and is_zip_name(urlsplit(source).path if scheme else source):
        return _zip_location(source, auth, storage_options)
    if scheme in ("http", "https"):
        return _http_location(source, auth, storage_options)
    if scheme in ("s3", "s3a") and storage_options:
        return _s3_location(source, auth, storage_options)
    if scheme in CLOUD_SCHEMES:
        return _cloud_location(source, auth, storage_options)
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


def _http_location(url: str, auth: Credential | None, storage_options: dict | None) -> Location:
    store = _http_store(url, auth, storage_options, root=url)
    return Location(KitStore(store, display=redact(url)))


def _http_store(url: str, auth: Credential | None, storage_options: dict | None, *,
                root: str) -> Store:
    """An HttpStore at ``root`` with the credential resolved for ``url`` (same origin)."""
    from kit.io.http import HttpStore

    if storage_options:
        names = ", ".join(sorted(map(repr, storage_options)))
        raise KitError(
            f"storage_options ({names}) do not apply to an http(s) URL (they are for s3:// "
            "and other fsspec protocols, and refs documents): give headers with "
            "auth=kit.Headers({...}) and credentials with auth=kit.BasicAuth(...) or "
            "kit.BearerToken(...)", where=redact(url))
    origin_of(url)  # a malformed URL is a KitError here, before any store is made
    credential = resolve(url, explicit=auth, scope=Scope.ROOT)  # the one decision for this root
    return HttpStore(root, credential=credential)


def _zip_location(source: str, auth: Credential | None, storage_options: dict | None) -> Location:
    """A zipped OME-Zarr (RFC-9 ``.ozx``): a ZipStore reading byte ranges of one file (local,
    http(s), or an s3/gs/az object)."""
    parts = urlsplit(source)
    if parts.scheme.lower() in ("http", "https"):
        folder, _, name = parts.path.rpartition("/")
        parent = urlunsplit(parts._replace(path=folder + "/", fragment=""))
        outer = _http_store(source, auth, storage_options, root=parent)
        zipped = ZipStore(outer, unquote(name), display=redact(source))
        return Location(KitStore(zipped, display=zipped.display))
    if parts.scheme.lower() in CLOUD_SCHEMES:  # the cloud store's range and suffix reads
        from kit.io.objstore import cloud_store

        folder, _, name = parts.path.rpartition("/")
        cloud = cloud_store(urlunsplit(parts._replace(path=folder)), auth)
        zipped = ZipStore(cloud, unquote(name), display=redact(source))
        return Location(KitStore(zipped, display=zipped.display))
    p = Path(parts.path if parts.scheme.lower() == "file" else source).expanduser()
    if not p.is_file():
        raise NotFound("no such file" if not p.exists() else "is a folder, not a zip file",
                       where=str(p))
    display, p = str(p), p.resolve()
    zipped = ZipStore(LocalStore(p.parent, read_only=True), p.name, display=display)
    return Location(KitStore(zipped, display=zipped.display))


def _s3_location(url: str, auth: Credential | None, storage_options: dict | None) -> Location:
    from kit.io.s3 import s3_store

    bucket = urlsplit(url).netloc
    if not _BUCKET.fullmatch(bucket):
        what = ("an s3:// URL carries no credentials: pass auth=kit.S3Credentials(...)"
                if "@" in url or ":" in bucket else "not an S3 bucket name")
        raise KitError(what, where=redact(url))
    store = s3_store(url, auth, storage_options)
    return Location(KitStore(store, display=redact(f"s3://{store.path}")))


def _cloud_location(url: str, auth: Credential | None, storage_options: dict | None) -> Location:
    """s3://, gs://, az://, abfs:// through obstore; ``storage_options`` (fsspec's) go to fsspec."""
    if storage_options:
        return _fsspec_location(url, storage_options)
    from kit.io.objstore import cloud_store

    store = cloud_store(url, auth)
    return Location(KitStore(store, display=store.target.display))


def _fsspec_location(url: str, storage_options: dict | None) -> Location:
    """Any other protocol through fsspec; whatever it raises becomes a KitError naming ``url``."""
    where = redact(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        parts.port  # noqa: B018 - a bad authority: the parser's message would quote it
    except ValueError:
        origin_of(url)  # raises the kit's message (an unescaped password, a bad port)
        raise KitError("not a valid URL", where=where) from None
    try:
        store = FsspecStore.from_url(url, storage_options=storage_options, read_only=True)
    except KitError:
        raise
    except (ImportError, ValueError) as exc:
        if "Protocol not known" in str(exc):
            raise KitError(f"unknown URL scheme {scheme!r}: the kit opens paths, http(s)://, "
                           "s3:// and the protocols of installed fsspec backends",
                           where=where) from None
        raise KitError(f"cannot open {scheme}:// with fsspec: {redact(exc)}", where=where) from None
    except (ConnectionError, TimeoutError) as exc:  # e.g. ftp connects when the fs is made
        raise RemoteError(f"cannot connect ({type(exc).__name__}: {redact(exc)})",
                          where=where) from None
    except Exception as exc:  # noqa: BLE001 - a backend's own error types (ftplib, paramiko...)
        raise KitError(f"cannot open {scheme}:// ({type(exc).__name__}: {redact(exc)})",
                       where=where) from None
    return Location(KitStore(store, display=where))


def _refs_location(
    source: Any, *, auth: Credential | None, storage_options: dict | None
) -> Location:
    from kit.io.refs import open_refs

    return open_refs(source, auth=auth, storage_options=storage_options)
