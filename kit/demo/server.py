"""A small real HTTP server for OME-Zarr folders: the demo's server and the tests' fault injector.

It behaves like the static hosts and object stores the kit meets in the field: GET and HEAD on
files, byte ranges (206 / 416), ETag / Last-Modified (304 to a conditional request), no
directory listings, no dotfiles but zarr's own metadata files, optional Basic or Bearer auth
(401 with ``WWW-Authenticate``), added latency. Files are streamed in pieces, so a small
range of a big file reads only that range; hostile requests (absurd ranges, very deep paths)
get 416 or 404, never a 500. Tests can also make it misbehave
on demand: fail, drop the connection, stall, ignore ``Range``, or redirect to another server
(another origin).

    with DemoServer(path, auth="basic", password="pw") as srv:
        kit.open(srv.url, auth=srv.credential)
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Self

from aiohttp import web

from kit.auth import BasicAuth, BearerToken, Credential
from kit.cache.byterange import UNSATISFIABLE, parse_range

__all__ = ["DemoServer", "RequestRecord"]

REALM = 'realm="ngff-kit demo"'
ZARR_DOTFILES = frozenset((".zarray", ".zgroup", ".zattrs", ".zmetadata"))
MAX_SEGMENTS = 64  # deeper than any dataset; a 3000-segment path is an attack, not a chunk key
PIECE = 1 << 20  # bytes read and sent at a time


@dataclass
class RequestRecord:
    """One request as the server saw it (``status`` None: the connection was dropped)."""

    method: str
    path: str
    status: int | None
    range: str | None
    authorization: bool  # whether an Authorization header was present
    time: float


RECORD = web.RequestKey("record", RequestRecord)


class _Drop(Exception):
    """Close the connection without answering."""


class DemoServer:
    """Serve the files under ``root`` over HTTP from a background thread with its own loop."""

    def __init__(
        self,
        root: str | Path,
        *,
        auth: str = "none",
        username: str = "demo",
        password: str | None = None,
        token: str | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if auth not in ("none", "basic", "bearer"):
            raise ValueError(f"auth must be 'none', 'basic' or 'bearer', not {auth!r}")
        self.root = Path(root).resolve()
        self.auth = auth
        self.username = username
        # Without a given secret, make one up: a demo server is never open by accident.
        if password is None and auth == "basic":
            password = secrets.token_urlsafe(12)
        if token is None and auth == "bearer":
            token = secrets.token_urlsafe(16)
        self.password, self.token = password, token
        self.latency = latency
        self.host, self.port = host, port
        self.ignore_range = False
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._fail: tuple[int, int, float | None] = (0, 500, None)  # (n, status, retry_after)
        self._drop = 0
        self._stall: tuple[int, float] = (0, 0.0)
        self._redirect: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = threading.Event()

    # -- life cycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8123/``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def credential(self) -> Credential | None:
        """The credential this server accepts (None without auth)."""
        if self.auth == "basic":
            return BasicAuth(self.username, self.password or "")
        if self.auth == "bearer":
            return BearerToken(self.token or "")
        return None

    def start(self) -> Self:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_forever, name="ngff-kit-demo-server", daemon=True
        )
        self._loop = loop
        self._stopped.clear()
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(10)
        except BaseException:  # e.g. the port is taken: leave no thread or loop behind
            self.stop()
            raise
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()
        self._thread = self._loop = self._runner = None
        self._stopped.set()

    def serve_forever(self) -> None:
        """Block until Ctrl-C, or until ``stop()`` is called from another thread (``ngff-kit
        serve``, and the tests that run it in-process)."""
        self.start()
        try:
            while not self._stopped.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"DemoServer({str(self.root)!r}, url={self.url!r}, auth={self.auth!r})"

    # -- the request log

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, predicate: Callable[[RequestRecord], bool] | None = None) -> int:
        """How many requests were seen (matching ``predicate``, if given)."""
        with self._lock:
            records = list(self.requests)
        return sum(1 for r in records if predicate is None or predicate(r))

    # -- faults on demand

    def fail_next(self, n: int, status: int = 500, *, retry_after: float | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (optionally with Retry-After)."""
        with self._lock:
            self._fail = (n, status, retry_after)

    def drop_next(self, n: int) -> None:
        """Close the connection of the next ``n`` requests without any response."""
        with self._lock:
            self._drop = n

    def stall_next(self, n: int, seconds: float) -> None:
        """Wait ``seconds`` before handling each of the next ``n`` requests (client timeouts)."""
        with self._lock:
            self._stall = (n, seconds)

    def redirect_to(self, other_base_url: str | None) -> None:
        """302 every request to the same path under ``other_base_url`` (None: stop)."""
        self._redirect = other_base_url.rstrip("/") if other_base_url else None

    def _take(self) -> tuple[float, bool, tuple[int, float | None] | None]:
        """Consume one of each pending fault: (stall seconds, drop?, (status, retry_after)?)."""
        with self._lock:
            stall = 0.0
            if self._stall[0] > 0:
                stall = self._stall[1]
                self._stall = (self._stall[0] - 1, self._stall[1])
            drop = self._drop > 0
            if drop:
                self._drop -= 1
                return stall, True, None
            fail = None
            if self._fail[0] > 0:
                n, status, retry_after = self._fail
                self._fail = (n - 1, status, retry_after)
                fail = (status, retry_after)
            return stall, False, fail

    # -- handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            status=None,
            range=request.headers.get("Range"),
            authorization="Authorization" in request.headers,
            time=time.time(),
        )
        with self._lock:
            self.requests.append(record)
        request[RECORD] = record  # a streamed answer records its status before its body
        try:
            response = await self._respond(request)
        except _Drop:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        record.status = response.status
        return response

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        stall, drop, fail = self._take()
        if stall:
            await asyncio.sleep(stall)
        if drop:
            raise _Drop
        if fail is not None:
            status, retry_after = fail
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return web.Response(status=status, headers=headers, text=f"injected {status}\n")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"})
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        if self._redirect is not None:
            return web.Response(status=302, headers={"Location": self._redirect + request.raw_path})
        path = self._file_for(request.path)
        if path is None:
            return web.Response(status=404, text="not found\n")
        return await self._file_response(request, path)

    def _check_auth(self, request: web.Request) -> web.Response | None:
        if self.auth == "none":
            return None
        given = request.headers.get("Authorization", "")
        if self.auth == "basic":
            raw = f"{self.username}:{self.password}".encode()
            expected = "Basic " + base64.b64encode(raw).decode("ascii")
            challenge = f"Basic {REALM}"
        else:
            expected = f"Bearer {self.token}"
            challenge = f"Bearer {REALM}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return web.Response(status=401, headers={"WWW-Authenticate": challenge},
                            text="unauthorized\n")

    def _file_for(self, url_path: str) -> Path | None:
        """The file for a (decoded) URL path, or None: missing, a directory, outside root, too
        deep, or hidden (a dotfile or dot-folder other than zarr's own metadata files)."""
        parts = [p for p in url_path.split("/") if p]
        if len(parts) > MAX_SEGMENTS or any("\\" in p or "\0" in p for p in parts):
            return None
        if any(p.startswith(".") for p in parts[:-1]) or (
                parts and parts[-1].startswith(".") and parts[-1] not in ZARR_DOTFILES):
            return None  # also rules out "." and ".."
        try:
            path = self.root.joinpath(*parts).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                return None
        except (OSError, ValueError, RuntimeError):
            return None
        return path

    async def _file_response(self, request: web.Request, path: Path) -> web.StreamResponse:
        """The file (or the range asked for), read and sent a piece at a time."""
        stat = path.stat()
        size = stat.st_size
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.name in ZARR_DOTFILES:
            content_type = "application/json"
        headers = {"Accept-Ranges": "none" if self.ignore_range else "bytes",
                   "ETag": f'"{size:x}-{stat.st_mtime_ns:x}"',
                   "Last-Modified": formatdate(stat.st_mtime, usegmt=True)}
        if _not_modified(request, headers["ETag"], stat.st_mtime):
            request[RECORD].status = 304
            return web.Response(status=304, headers={k: headers[k] for k in
                                                     ("ETag", "Last-Modified")})
        status, start, end = 200, 0, size
        header = request.headers.get("Range")
        if header and not self.ignore_range:
            span = parse_range(header, size)
            if span == UNSATISFIABLE:
                headers["Content-Range"] = f"bytes */{size}"
                return web.Response(status=416, headers=headers)
            if isinstance(span, tuple):
                status, (start, end) = 206, span
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = web.StreamResponse(status=status, headers=headers)
        response.content_type = content_type
        response.content_length = end - start
        request[RECORD].status = status  # the client may hang up as soon as it has the body
        await response.prepare(request)
        if request.method != "HEAD":
            with path.open("rb") as f:
                f.seek(start)
                left = end - start
                while left > 0 and (piece := f.read(min(PIECE, left))):
                    await response.write(piece)
                    left -= len(piece)
        await response.write_eof()
        return response


def _not_modified(request: web.Request, etag: str, mtime: float) -> bool:
    """RFC 9110 13.1: If-None-Match decides when present, else If-Modified-Since."""
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False
