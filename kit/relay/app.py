"""``Relay``: the aiohttp application that serves the upstream dataset to a class.

It runs on the kit's own event loop (``kit.io.loop.kit_loop``), the loop the upstream store
already lives on, so a student's request and the upstream read it causes never change loops;
the calling thread only starts, waits and stops. A request passes, in order: method (GET/HEAD),
the student's credential (401), the student's rate limit (429 + Retry-After), the path (400
outside the dataset), then the answer: consolidated metadata for the root document once it is
built, else the coalesced, cached upstream read (404 missing, 502/504 upstream failures with a
message of their own). ETag on every answer, 304 on If-None-Match, one byte range (206/416).
Nothing the upstream sends (headers, redirects, error texts) is passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Self

from aiohttp import web

from kit.cache.byterange import UNSATISFIABLE, parse_range
from kit.io.kitstore import is_metadata_key
from kit.io.location import Location
from kit.io.loop import kit_loop
from kit.relay import consolidated
from kit.relay.accesslog import AccessLog
from kit.relay.memcache import Entry, MemoryCache, size_for
from kit.relay.paths import BadPath, key_for
from kit.relay.ratelimit import DEFAULT_BURST, DEFAULT_RATE, RateLimiter, retry_after_header
from kit.relay.status import RelayStats, render_html
from kit.relay.students import Students, challenge
from kit.relay.upstream import SYNTHESISED, Upstream, UpstreamError, etag_of

STATUS_PATH = "/_relay/status"
CONSOLIDATE_WAIT = 5.0  # seconds a root-document request waits for the consolidated metadata
CONSOLIDATE_RETRY = (5.0, 300.0)  # first and longest pause between attempts after a failure
SHUTDOWN_TIMEOUT = 5.0  # seconds in-flight requests get to finish at shutdown


def _stderr(text: str) -> None:
    print(f"ngff-kit relay: {text}", file=sys.stderr, flush=True)


class Relay:
    """Serve ``location`` (the upstream root) to ``students`` at ``http://host:port/``."""

    def __init__(self, location: Location, *, students: Students, host: str = "127.0.0.1",
                 port: int = 0, access_log: AccessLog | None = None,
                 log: Callable[[str], None] = _stderr, secrets: Iterable[str] = (),
                 memory_bytes: int | None = None, rate: float = DEFAULT_RATE,
                 burst: int = DEFAULT_BURST, consolidate: bool = True,
                 upstream_concurrency: int | None = None) -> None:
        self.students = students
        self.host, self.port = host, port
        self.stats = RelayStats()
        self.access_log = access_log or AccessLog()
        self.log = log
        self.limiter = RateLimiter(rate, burst)
        extra = {} if upstream_concurrency is None else {"concurrency": upstream_concurrency}
        memory = MemoryCache(memory_bytes if memory_bytes is not None else size_for(location.store))
        self.upstream = Upstream(location, cache=memory, stats=self.stats,
                                 log=log, secrets=[*secrets, *students.secrets()], **extra)
        self.consolidate = consolidate
        self.root_document: tuple[str, Entry] | None = None  # (key, answer) once built
        self._root_key: str | None = None  # zarr.json or .zmetadata, once the format is known
        self._ready: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._wakeup = threading.Event()

    @property
    def url(self) -> str:
        """The URL students open; for a wildcard host (0.0.0.0, ::), this machine's address."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = _own_address()
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Self:
        """Listen (on the kit loop) and start building the consolidated metadata."""
        if self._runner is None:
            asyncio.run_coroutine_threadsafe(self._start(), kit_loop()).result(30)
        return self

    async def _start(self) -> None:
        app = web.Application(handler_args={"max_field_size": 16384})
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._ready = asyncio.Event()
        if self.consolidate:
            self._task = asyncio.ensure_future(self._build_consolidated())
        else:
            self.stats.consolidated = "off"

    def stop(self) -> None:
        """Stop listening; requests in flight get ``SHUTDOWN_TIMEOUT`` seconds to finish."""
        self._wakeup.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            asyncio.run_coroutine_threadsafe(self._stop(runner), kit_loop()).result(
                SHUTDOWN_TIMEOUT + 10)

    async def _stop(self, runner: web.AppRunner) -> None:
        if self._task is not None:
            self._task.cancel()
        await runner.cleanup()

    def serve_forever(self, *, handle_signals: bool = True) -> None:
        """Block until SIGINT/SIGTERM (or ``stop()`` from another thread), then shut down."""
        self.start()
        previous: dict[signal.Signals, object] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self._wakeup.set())
        try:
            while not self._wakeup.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]
            self.stop()

    def wait_consolidated(self, timeout: float = 30.0) -> bool:
        """Block until the consolidated metadata is built (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.root_document is not None:
                return True
            time.sleep(0.02)
        return False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Relay(url={self.url!r}, students={self.students!r})"

    # -- consolidated metadata --------------------------------------------------------------
    async def _upstream_bytes(self, key: str) -> bytes | None:
        entry, _ = await self.upstream.get(key)
        return entry.data

    async def _build_consolidated(self) -> None:
        pause = CONSOLIDATE_RETRY[0]
        fetch = consolidated.fetch_json_from(self._upstream_bytes)
        while True:
            try:
                key, data, count = await consolidated.build(fetch, self.upstream.location,
                                                            self._announce)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported on the status page, tried again
                what = exc.message if isinstance(exc, UpstreamError) else type(exc).__name__
                self.stats.consolidated = f"failed ({what}); retrying in {pause:g} s"
                self.log(f"consolidated metadata: {self.upstream.scrub(str(what))}; "
                         f"retrying in {pause:g} s")
                await asyncio.sleep(pause)
                pause = min(pause * 2, CONSOLIDATE_RETRY[1])
                continue
            self.root_document = (key, Entry(data, etag_of(data)))
            self.stats.consolidated = f"ready ({count} documents in {key})"
            assert self._ready is not None
            self._ready.set()
            return

    def _announce(self, key: str) -> None:
        self._root_key = key

    async def _root_document(self, key: str) -> Entry | None:
        if not self.consolidate or key not in ("zarr.json", consolidated.V2_ZMETADATA):
            return None
        if self._root_key is not None and key != self._root_key:
            return None  # the other format's root document: not worth a wait
        if self.root_document is None and self._ready is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONSOLIDATE_WAIT):
                    await self._ready.wait()
        if self.root_document is not None and self.root_document[0] == key:
            return self.root_document[1]
        return None

    # -- requests ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        student: str | None = None
        source = ""
        try:
            student, source, response = await self._respond(request)
        except UpstreamError as exc:
            response = _text(exc.status, exc.message)
        self.stats.requests += 1
        size = response.content_length or 0 if request.method != "HEAD" else 0
        if response.status in (200, 206):
            self.stats.bytes_sent += size
        self.access_log.line(student=student, method=request.method,
                             path=request.path, status=response.status, size=size,
                             source=source, seconds=time.monotonic() - started)
        return response

    async def _respond(self, request: web.Request) -> tuple[str | None, str, web.Response]:
        peer = request.remote or "-"
        if request.method not in ("GET", "HEAD"):
            return None, "", _text(405, "the relay is read-only: GET and HEAD only",
                                   {"Allow": "GET, HEAD"})
        student = self.students.identify(request.headers.get("Authorization", ""), peer)
        if student is None:
            self.stats.unauthorized += 1
            wait = self.limiter.take(f"address {peer}")
            if wait:
                return None, "", _limited(wait)
            how = ("the class user name and password (HTTP Basic)" if self.students.scheme ==
                   "Basic" else "your own student token (Authorization: Bearer)")
            return None, "", _text(401, f"log in with {how}; ask the instructor",
                                   {"WWW-Authenticate": challenge(self.students)})
        wait = self.limiter.take(student)
        if wait:
            self.stats.rate_limited += 1
            return student, "", _limited(wait)
        self.stats.seen(student)
        if request.path == STATUS_PATH or request.path == STATUS_PATH + "/":
            return student, "status", self._status(request)
        try:
            key = key_for(request.raw_path)
        except BadPath as exc:
            return student, "", _text(400, f"refused: {exc}")
        if key == "" or key.endswith("/"):
            return student, "", _text(404, "no listings here: open this URL with kit.open(...), "
                                      "which reads the metadata documents")
        entry = await self._root_document(key)
        if entry is not None:
            self.stats.synthesised += 1
            source = SYNTHESISED
        else:
            entry, source = await self.upstream.get(key)
            if source == "memory":
                self.stats.memory_hits += 1
            elif source == "coalesced":
                self.stats.coalesced += 1
        if entry.data is None:
            return student, source, _text(404, f"{key}: not found in the dataset")
        return student, source, _answer(request, key, entry.data, entry.etag or "")

    def _status(self, request: web.Request) -> web.Response:
        stats = self.stats.to_dict()
        if request.query.get("format") == "json":
            return web.Response(text=json.dumps(stats), content_type="application/json",
                                headers={"Cache-Control": "no-store"})
        return web.Response(text=render_html(stats), content_type="text/html",
                            headers={"Cache-Control": "no-store"})


def _own_address() -> str:
    """This machine's address on the local network (no packet is sent), else its name."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
    except OSError:
        return socket.gethostname()


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=f"ngff-kit relay: {message}\n", headers=headers)


def _limited(wait: float) -> web.Response:
    return _text(429, "too many requests from you; wait and try again (the kit retries by "
                 "itself)", {"Retry-After": retry_after_header(wait)})


def _answer(request: web.Request, key: str, data: bytes, etag: str) -> web.Response:
    """200/206/304/416 for ``data``, with ETag, Accept-Ranges and a content type."""
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
    content_type = "application/json" if is_metadata_key(key) else "application/octet-stream"
    match = request.headers.get("If-None-Match")
    if match and (match.strip() == "*" or etag in [t.strip() for t in match.split(",")]):
        return web.Response(status=304, headers=headers)
    span = parse_range(request.headers.get("Range"), len(data))
    if span == UNSATISFIABLE:
        asked = (request.headers.get("Range") or "")[:60]
        headers["Content-Range"] = f"bytes */{len(data)}"
        return _text(416, f"range not satisfiable: {key} has {len(data)} bytes, the request "
                     f"asked for {asked!r}", headers)
    if isinstance(span, tuple):
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        return web.Response(status=206, body=data[start:end], headers=headers,
                            content_type=content_type)
    return web.Response(body=data, headers=headers, content_type=content_type)
