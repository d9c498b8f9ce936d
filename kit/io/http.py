"""A read-only zarr-python 3 store over HTTP(S), built on aiohttp.

Why not fsspec's HTTPFileSystem: it trusts a 200 answer to a Range request, puts credentials where
redirects can carry them, and has no retries. Here:

- all network code runs on the kit loop, on one aiohttp session per process (connection pool of
  256, no cookie jar, no session-level auth or headers);
- credentials go per request as headers, and only to the store root's origin; redirects are
  followed by hand (at most 5) and a hop to another origin carries no credential;
- a server that ignores ``Range`` still yields the right bytes (sliced locally);
- 404 is a missing key (zarr's fill value), 401/403 are typed errors that say what to do, and
  429/5xx/timeouts/resets are retried with bounded exponential backoff before a ``RemoteError``.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import ipaddress
import os
import random
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL
from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from kit.auth import BasicAuth, Credential, Origin, origin_of, redact_url, resolve_http_credential
from kit.errors import AuthenticationError, KitError, PermissionDenied, RemoteError
from kit.io.loop import gather_on_kit_loop, on_kit_loop
from kit.io.stats import RequestStats

__all__ = ["HttpStore"]

MAX_REDIRECTS = 5
MAX_BACKOFF = 10.0  # seconds; one retry never waits longer than this
MAX_RETRY_AFTER = 10.0  # a server's Retry-After is honoured up to this many seconds
CONNECTION_LIMIT = 256  # wider than a 96-well plate stage, so a stage is one round trip
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+")


# --- one session per process, on the kit loop ------------------------------------------------


class _SessionHolder:
    session: aiohttp.ClientSession | None = None
    loop: asyncio.AbstractEventLoop | None = None
    pid: int | None = None
    proxies: dict[str, str] = {}  # the environment's, read when the session was made


_holder = _SessionHolder()


async def _session() -> aiohttp.ClientSession:
    """The process's session for the running (kit) loop, created on first use."""
    loop = asyncio.get_running_loop()
    h = _holder
    if h.session is None or h.session.closed or h.loop is not loop or h.pid != os.getpid():
        h.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT),
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are not port-scoped: keep none
            trust_env=False,  # trust_env would also apply ~/.netrc on every hop; proxies below
        )
        # aiohttp silently resends an idempotent request once when the connection drops; our
        # own bounded, counted, backed-off retry loop is the only one (private flag, guarded).
        if hasattr(h.session, "_retry_connection"):
            h.session._retry_connection = False
        h.loop, h.pid = loop, os.getpid()
        h.proxies = urllib.request.getproxies_environment()
    return h.session


@atexit.register
def _close_session() -> None:
    h = _holder
    if h.session is None or h.session.closed or h.pid != os.getpid() or h.loop is None:
        return
    if h.loop.is_running():
        try:
            asyncio.run_coroutine_threadsafe(h.session.close(), h.loop).result(2)
        except Exception:  # noqa: BLE001 - interpreter shutdown: best effort
            pass


def proxy_for(url: str, proxies: dict[str, str] | None = None) -> str | None:
    """The HTTP(S)_PROXY for ``url`` honouring NO_PROXY; loopback never goes through a proxy.

    ``proxies`` defaults to the environment's now; the store passes the ones read when its
    session was made (reading the environment per request cost ~10% of the I/O thread).
    """
    proxies = urllib.request.getproxies_environment() if proxies is None else proxies
    if not proxies:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    proxy = proxies.get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass_environment(host, proxies):
        return proxy
    return None


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    headers: CIMultiDict[str]
    body: bytes
    url: str  # the URL that answered (after redirects)
    sent_auth: bool  # whether credential headers went with the final request


def _range_header(byte_range: ByteRequest | None) -> str | None:
    if byte_range is None:
        return None
    if isinstance(byte_range, RangeByteRequest):
        return f"bytes={byte_range.start}-{byte_range.end - 1}"
    if isinstance(byte_range, OffsetByteRequest):
        return f"bytes={byte_range.offset}-"
    if isinstance(byte_range, SuffixByteRequest):
        return f"bytes=-{byte_range.suffix}"
    raise TypeError(f"unexpected byte_range {byte_range!r}")


def _wanted(byte_range: ByteRequest, total: int | None) -> tuple[int, int] | None:
    """Absolute [start, end) the caller asked for, clipped to ``total`` when known."""
    big = total if total is not None else 2**63
    if isinstance(byte_range, RangeByteRequest):
        return byte_range.start, min(byte_range.end, big)
    if isinstance(byte_range, OffsetByteRequest):
        return byte_range.offset, big
    if total is None:  # a suffix needs the total size
        return None
    return max(total - byte_range.suffix, 0), total


def _retry_after(headers: CIMultiDict[str]) -> float:
    value = headers.get("Retry-After", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)  # delta-seconds (fractions accepted)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    if seconds != seconds:  # NaN
        return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _retryable(status: int) -> bool:
    return status in (408, 429) or (status >= 500 and status != 501)


def _describe(exc: BaseException) -> str:
    """A one-line cause without URLs' secrets (aiohttp messages may quote presigned URLs)."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _split_root(url: str) -> tuple[str, str, BasicAuth | None]:
    """(base URL ending in '/', '?query' or '', userinfo as BasicAuth); KitError if malformed."""
    if not isinstance(url, str):
        raise KitError(f"HttpStore needs a URL string, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise KitError("HttpStore needs an http:// or https:// URL", where=redact_url(url))
    origin_of(url)  # raises KitError without a host or with a bad port
    userinfo = None
    if parts.username is not None:
        userinfo = BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    base = urlunsplit((parts.scheme.lower(), netloc, path, "", ""))
    return base, (f"?{parts.query}" if parts.query else ""), userinfo


# --- the store -------------------------------------------------------------------------------


class HttpStore(Store):
    """Read-only zarr store for an HTTP(S) root URL; keys are URL paths below it.

    ``credential=None`` resolves one for the root's origin (registry, env, netrc: see
    ``kit.auth.resolve``); userinfo in the URL becomes a ``BasicAuth`` and leaves the URL.
    ``timeout`` bounds connecting and each wait for data, not a whole (possibly large) body.
    ``missing_on_403`` reads 403 as a missing key, for buckets that hide absence that way.
    """

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = False

    def __init__(
        self,
        url: str,
        *,
        credential: Credential | None = None,
        retries: int = 4,
        backoff: float = 0.05,
        timeout: float = 30.0,
        missing_on_403: bool = False,
        read_only: bool = True,
    ) -> None:
        super().__init__(read_only=read_only)
        base, query, userinfo = _split_root(url)
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeout > 0")
        self._base, self._query = base, query
        self._origin = origin_of(base)
        # "scheme://authority/": a URL starting with it has this origin (the common case, cheap)
        self._origin_prefix = base[: base.index("/", base.index("://") + 3) + 1]
        self._credential = resolve_http_credential(base, credential or userinfo)
        self._auth_headers = self._credential.http_headers() if self._credential else {}
        self._retries, self._backoff, self._timeout = int(retries), float(backoff), float(timeout)
        self._missing_on_403 = bool(missing_on_403)
        self.stats = RequestStats()

    # -- identity, repr, pickling

    @property
    def url(self) -> str:
        """The root URL, ending in '/' (plus its query string, if it had one)."""
        return self._base + self._query

    @property
    def origin(self) -> Origin:
        """The origin credentials are bound to."""
        return self._origin

    @property
    def credential(self) -> Credential | None:
        return self._credential

    def _identity(self) -> tuple[Any, ...]:
        return (self.url, self._credential, self._missing_on_403, self.read_only)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HttpStore) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        kind = self._credential.kind if self._credential else None
        return f"HttpStore({redact_url(self.url)!r}, auth={kind})"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["stats"] = RequestStats()  # counters belong to one process
        state["_is_open"] = False
        return state

    def with_read_only(self, read_only: bool = False) -> HttpStore:
        """A copy with another read_only flag (sharing stats); writing stays unsupported."""
        clone = object.__new__(HttpStore)
        clone.__dict__.update(self.__dict__)
        clone._read_only, clone._is_open = read_only, False
        return clone

    # -- reading

    def _key_url(self, key: str) -> str:
        return self._base + quote(key, safe="/") + self._query

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await on_kit_loop(self._get(key, prototype, byte_range))

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return await gather_on_kit_loop(self._get, prototype, key_ranges)

    async def exists(self, key: str) -> bool:
        return await on_kit_loop(self._exists(key))

    async def getsize(self, key: str) -> int:
        return await on_kit_loop(self._getsize(key))

    async def _get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None
    ) -> Buffer | None:
        if isinstance(byte_range, RangeByteRequest) and byte_range.end <= byte_range.start:
            return prototype.buffer.from_bytes(b"")
        url = self._key_url(key)
        reply = await self._fetch("GET", url, _range_header(byte_range))
        if reply.status in (200, 206):
            body = reply.body
            if byte_range is not None:
                body = self._exact_range(reply, byte_range)
            return prototype.buffer.from_bytes(body)
        if reply.status in (404, 410) or (reply.status == 403 and self._missing_on_403):
            return None
        if reply.status == 416:
            return prototype.buffer.from_bytes(b"")
        raise self._error(reply)

    def _exact_range(self, reply: _Reply, byte_range: ByteRequest) -> bytes:
        """The requested bytes, whether the server sent them (206) or the whole object (200)."""
        body = reply.body
        if reply.status == 200:
            want = _wanted(byte_range, len(body))
            return body[want[0] : want[1]] if want else body
        match = _CONTENT_RANGE.match(reply.headers.get("Content-Range", ""))
        if not match:
            return body
        first, total = int(match[1]), None if match[3] == "*" else int(match[3])
        want = _wanted(byte_range, total)
        if want is None:
            return body
        if want[0] < first:
            raise RemoteError(
                f"asked for bytes from {want[0]} but the server sent a range starting at {first}",
                where=redact_url(reply.url),
            )
        return body[want[0] - first : want[1] - first]

    async def _exists(self, key: str) -> bool:
        # GET of one byte, not HEAD: a presigned GET URL does not allow HEAD.
        reply = await self._fetch("GET", self._key_url(key), "bytes=0-0", read_body=False)
        if reply.status in (200, 206, 416):
            return True
        if reply.status in (404, 410) or (reply.status == 403 and self._missing_on_403):
            return False
        raise self._error(reply)

    async def _getsize(self, key: str) -> int:
        url = self._key_url(key)
        reply = await self._fetch("GET", url, "bytes=0-0", read_body=False)
        if reply.status in (206, 416):
            total = reply.headers.get("Content-Range", "").rpartition("/")[2]
            if total.isdigit():
                return int(total)
        elif reply.status == 200 and reply.headers.get("Content-Length", "").isdigit():
            return int(reply.headers["Content-Length"])
        elif reply.status in (404, 410) or (reply.status == 403 and self._missing_on_403):
            raise FileNotFoundError(key)
        elif reply.status != 200:
            raise self._error(reply)
        value = await self._get(key, default_buffer_prototype(), None)
        if value is None:
            raise FileNotFoundError(key)
        return len(value)

    # -- HTTP with retries and hand-followed redirects

    def _delay(self, attempt: int) -> float:
        return min(self._backoff * 2**attempt, MAX_BACKOFF) * random.uniform(0.75, 1.0)

    async def _fetch(
        self, method: str, url: str, range_header: str | None = None, *, read_body: bool = True
    ) -> _Reply:
        attempts = self._retries + 1
        last = ""
        for attempt in range(attempts):
            delay = self._delay(attempt)
            try:
                reply = await self._send(method, url, range_header, read_body)
            except TimeoutError:
                self.stats.record_error()
                last = f"no answer within {self._timeout:g} s"
            except (aiohttp.ClientError, OSError) as exc:
                self.stats.record_error()
                last = _describe(exc)
            else:
                if not _retryable(reply.status):
                    return reply
                last = f"HTTP {reply.status}"
                delay = max(delay, _retry_after(reply.headers))
            if attempt + 1 < attempts:
                await asyncio.sleep(delay)
        raise RemoteError(
            f"{method} failed after {attempts} attempt(s); last error: {last}",
            where=redact_url(url),
        ) from None

    async def _send(
        self, method: str, url: str, range_header: str | None, read_body: bool
    ) -> _Reply:
        session = await _session()
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeout, sock_read=self._timeout
        )
        for _hop in range(MAX_REDIRECTS + 1):
            headers: dict[str, str] = {}
            if range_header:
                headers["Range"] = range_header
                headers["Accept-Encoding"] = "identity"  # ranges address the raw bytes
            sent_auth = bool(self._auth_headers) and (
                url.startswith(self._origin_prefix) or _same_origin(url, self._origin))
            if sent_auth:
                headers.update(self._auth_headers)
            self.stats.record_request()
            async with session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                proxy=proxy_for(url, _holder.proxies),
            ) as resp:
                status = resp.status
                location = resp.headers.get("Location")
                if status in _REDIRECT_STATUSES and location:
                    self.stats.record_response(status)
                    url = urljoin(url, location)
                    if urlsplit(url).scheme not in ("http", "https"):
                        raise RemoteError(
                            "redirected to a non-HTTP URL", where=redact_url(url)
                        )
                    if status == 303 and method != "HEAD":
                        method = "GET"
                    continue
                body = await resp.read() if read_body and status in (200, 206) else b""
                self.stats.record_response(status, len(body))
                return _Reply(status, CIMultiDict(resp.headers), body, url, sent_auth)
        raise RemoteError(f"more than {MAX_REDIRECTS} redirects", where=redact_url(url))

    # -- errors

    def _error(self, reply: _Reply) -> KitError:
        where = redact_url(reply.url)
        if reply.status == 401:
            kind = self._credential.kind if self._credential else None
            if reply.sent_auth:
                what = f"the server refused the credentials given ({kind})"
            elif kind:
                what = (
                    f"the server asked for credentials; the {kind} for {self._origin} was not "
                    "sent because the request was redirected to another origin"
                )
            else:
                what = "the server asked for credentials and none were given"
            how = (
                "Give them with kit.open(url, auth=kit.BasicAuth(username, password)) or "
                "auth=kit.BearerToken(token), set the environment variable NGFF_KIT_TOKEN "
                "(or NGFF_KIT_USERNAME and NGFF_KIT_PASSWORD), add a 'machine' entry to "
                "~/.netrc, or call kit.login() in the notebook."
            )
            return AuthenticationError(f"HTTP 401: {what}. {how}", where=where)
        if reply.status == 403:
            return PermissionDenied(
                "HTTP 403: access refused. The credentials may be valid but not allowed here, "
                "or a presigned URL has expired. If this server answers 403 for missing keys, "
                "open it with missing_on_403=True.",
                where=where,
            )
        return RemoteError(f"unexpected HTTP {reply.status}", where=where)

    # -- unsupported: writing and listing

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        raise NotImplementedError("HttpStore is read-only")

    async def delete(self, key: str) -> None:
        self._check_writable()
        raise NotImplementedError("HttpStore is read-only")

    async def list(self) -> AsyncIterator[str]:
        """HTTP has no listing: members come from metadata, never from directory scraping."""
        return
        yield  # pragma: no cover - makes this an async generator

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return
        yield  # pragma: no cover

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return
        yield  # pragma: no cover


def _same_origin(url: str, origin: Origin) -> bool:
    try:
        return origin_of(url) == origin
    except KitError:
        return False
