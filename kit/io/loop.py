"""One background event loop for all of the kit's I/O.

Notebooks already run an event loop in the main thread, so the sync facade never calls
``asyncio.run`` there: coroutines are handed to a daemon thread that owns the kit's loop
(the same shape as zarr-python's ``zarr.core.sync``). Stores whose state is bound to a loop
(aiohttp sessions, semaphores) only ever run on this loop; ``on_kit_loop`` hops there from any
other loop.

The sync facade (``run_sync``) waits at most ``DEFAULT_TIMEOUT`` seconds, like zarr's
``sync()``, and re-raises the kit's typed errors with the frames of the loop thread trimmed
(the cause stays attached): a notebook shows the user's call and one line, not 19 frames
of kit internals. ``NGFF_KIT_DEBUG=1`` keeps the full traceback.

The loop is uvloop's when uvloop is installed (the ``fast`` extra): its transports, callbacks
and timers are C, and most of the kit's client CPU per request is event-loop and transport
work. ``NGFF_KIT_UVLOOP=0`` keeps asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from kit.errors import KitError, RemoteError

T = TypeVar("T")


def _timeout_from_env() -> float | None:
    value = os.environ.get("NGFF_KIT_TIMEOUT", "").strip().lower()
    if value in ("0", "none", "off"):
        return None
    try:
        return float(value) if value else 600.0
    except ValueError:
        return 600.0


#: Seconds a blocking kit call waits for its answer (``NGFF_KIT_TIMEOUT``; 0 or "none": no
#: limit). Each HTTP request has its own, shorter limits; this bounds the whole call.
DEFAULT_TIMEOUT: float | None = _timeout_from_env()
_DEFAULT: Any = object()

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for the kit's thread: uvloop's when importable, unless
    ``NGFF_KIT_UVLOOP=0``."""
    if os.environ.get("NGFF_KIT_UVLOOP", "").strip().lower() not in ("0", "no", "off", "false"):
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def kit_loop() -> asyncio.AbstractEventLoop:
    """The kit's loop, started on first use (and again in a forked child process)."""
    global _loop, _pid
    loop = _loop
    if loop is not None and _pid == os.getpid() and loop.is_running():
        return loop  # every store call asks: no lock on the common path
    with _lock:
        if _loop is None or _pid != os.getpid() or not _loop.is_running():
            loop = new_loop()
            started = threading.Event()

            def _run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=_run, name="ngff-kit-io", daemon=True).start()
            started.wait()
            _loop, _pid = loop, os.getpid()
        return _loop


def running_kit_loop() -> asyncio.AbstractEventLoop | None:
    """The kit's loop if it runs in this process, else None; never starts one (exit hooks)."""
    loop = _loop
    return loop if loop is not None and _pid == os.getpid() and loop.is_running() else None


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start ``coro`` on the kit loop from synchronous code; the caller waits on the future."""
    loop = kit_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise RuntimeError("a blocking kit call ran on the kit loop itself; await the coroutine "
                           "(the node's async twin: alevels(), atables(), aread(), ...)")
    return asyncio.run_coroutine_threadsafe(coro, loop)


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = _DEFAULT) -> T:
    """Run ``coro`` on the kit loop and wait for its result from synchronous code.

    ``timeout`` defaults to ``DEFAULT_TIMEOUT``; past it the work is cancelled and a
    ``RemoteError`` says so.
    """
    future = submit(coro)
    return _result(future, DEFAULT_TIMEOUT if timeout is _DEFAULT else timeout)


def run_reporting(coro: Coroutine[Any, Any, T], report: Callable[[], None] | None,
                  interval: float = 0.1) -> T:
    """``run_sync`` that calls ``report()`` in the caller's thread every ``interval`` seconds
    and once at the end (progress bars: widgets are touched from the thread that owns them)."""
    future = submit(coro)
    try:
        if report is not None:
            while not concurrent.futures.wait([future], timeout=interval).done:
                report()
        result = _result(future, None)
    except BaseException:
        future.cancel()
        raise
    if report is not None:
        report()
    return result


def trimmed(exc: KitError) -> KitError:
    """``exc`` without the kit-internal frames it passed through (``NGFF_KIT_DEBUG=1`` keeps
    them); re-raised as it is, so __cause__ and __context__ stay as they were."""
    return exc if os.environ.get("NGFF_KIT_DEBUG") else exc.with_traceback(None)


def _result(future: concurrent.futures.Future[T], timeout: float | None) -> T:
    """The future's result; a typed error comes back without the loop thread's frames."""
    try:
        return future.result(timeout)
    except KitError as exc:
        raise trimmed(exc)  # noqa: B904
    except concurrent.futures.TimeoutError:
        if future.done():  # the coroutine's own TimeoutError, not ours
            raise
        future.cancel()
        raise RemoteError(f"no answer within {timeout:g} s; the work was cancelled (set "
                          "NGFF_KIT_TIMEOUT or pass timeout= for longer)") from None


async def on_kit_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the kit loop, whichever loop the caller runs on."""
    loop = kit_loop()
    if asyncio.get_running_loop() is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


async def gather_on_kit_loop(get: Callable[..., Coroutine[Any, Any, T]],
                             prototype: Any, key_ranges: Iterable[tuple[str, Any]]) -> list[T]:
    """``get(key, prototype, range)`` for every pair, concurrently, on the kit loop.

    The shared body of the network stores' ``get_partial_values``.
    """
    pairs = list(key_ranges)

    async def _all() -> list[T]:
        return list(await asyncio.gather(*(get(k, prototype, r) for k, r in pairs)))

    return await on_kit_loop(_all())
