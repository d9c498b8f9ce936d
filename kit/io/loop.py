"""One background event loop for all of the kit's I/O.

Notebooks already run an event loop in the main thread, so the sync facade never calls
``asyncio.run`` there: coroutines are handed to a daemon thread that owns the kit's loop
(the same shape as zarr-python's ``zarr.core.sync``). Stores whose state is bound to a loop
(aiohttp sessions, semaphores) only ever run on this loop; ``on_kit_loop`` hops there from any
other loop (zarr's own I/O thread, a dask worker thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def kit_loop() -> asyncio.AbstractEventLoop:
    """The kit's loop, started on first use (and again in a forked child process)."""
    global _loop, _pid
    loop = _loop
    if loop is not None and _pid == os.getpid() and loop.is_running():
        return loop  # every store call asks: no lock on the common path
    with _lock:
        if _loop is None or _pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
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
        raise RuntimeError("a blocking kit call ran on the kit loop itself; await the coroutine")
    return asyncio.run_coroutine_threadsafe(coro, loop)


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the kit loop and wait for its result from synchronous code."""
    return submit(coro).result(timeout)


def run_reporting(coro: Coroutine[Any, Any, T], report: Callable[[], None] | None,
                  interval: float = 0.1) -> T:
    """``run_sync`` that calls ``report()`` in the caller's thread every ``interval`` seconds
    and once at the end (progress bars: widgets are touched from the thread that owns them)."""
    future = submit(coro)
    try:
        if report is not None:
            while not concurrent.futures.wait([future], timeout=interval).done:
                report()
        result = future.result()
    except BaseException:
        future.cancel()
        raise
    if report is not None:
        report()
    return result


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
