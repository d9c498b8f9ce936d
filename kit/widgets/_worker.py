"""Background loads for widgets: a small thread pool where the newest request per slot wins.

Widget callbacks run on the kernel's main thread; a remote read there freezes every widget and
queues the user's clicks (ipywidgets#2081). So each load runs in a worker thread, tagged with a
generation number for its *slot* ("preview", "node", "thumb:B/03", ...). A result is applied only
if no newer request was made for that slot since, which drops stale previews when sliders race.
Setting widget traits from a worker thread is fine; ``with output:`` is not (we never use it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from kit.widgets._messages import readable_error

__all__ = ["Worker"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class Worker:
    """Runs loads off the main thread; only the newest request of each slot is applied."""

    def __init__(self, max_workers: int = 4, on_busy: Callable[[bool], None] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="ngff-kit-widget")
        self._on_busy = on_busy
        self._cond = threading.Condition()
        self._pending = 0
        self._generation: dict[str, int] = {}
        self._futures: dict[str, Future] = {}
        self._apply_locks: dict[str, threading.Lock] = {}

    # -- requests ------------------------------------------------------------------------------
    def submit(
        self,
        slot: str,
        fn: Callable[[], T],
        on_result: Callable[[T], Any],
        on_error: Callable[[str, BaseException], Any] | None = None,
    ) -> Future:
        """Run ``fn`` in a worker; call ``on_result`` (or ``on_error``) there if still current.

        A not-yet-started request of the same slot is cancelled: only the newest matters.
        """
        with self._cond:
            gen = self._generation.get(slot, 0) + 1
            self._generation[slot] = gen
            old = self._futures.get(slot)
            lock = self._apply_locks.setdefault(slot, threading.Lock())
            self._pending += 1
            if self._pending == 1:
                self._busy(True)  # under the lock: busy/idle flips stay in order
        if old is not None:
            old.cancel()  # its done-callback still runs and settles the pending count

        def run() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - shown in the widget, never raised
                with lock:
                    if self.is_current(slot, gen):
                        message = readable_error(exc)
                        log.debug("%s failed: %s", slot, message)
                        if on_error is not None:
                            on_error(message, exc)
                return
            with lock:  # check-and-apply atomically, so an older result never lands last
                if self.is_current(slot, gen):
                    on_result(result)

        def guarded() -> None:
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - a bug in a callback: log, keep the widget
                log.warning("widget update for %s failed: %s", slot, readable_error(exc))

        future = self._pool.submit(guarded)
        with self._cond:
            self._futures[slot] = future
        future.add_done_callback(self._settle)
        return future

    def is_current(self, slot: str, generation: int) -> bool:
        """Whether ``generation`` is still the newest request of ``slot``."""
        with self._cond:
            return self._generation.get(slot) == generation

    def invalidate(self, prefix: str = "") -> None:
        """Make every pending request whose slot starts with ``prefix`` stale (on navigation)."""
        with self._cond:
            for slot in list(self._generation):
                if slot.startswith(prefix):
                    self._generation[slot] += 1
                    fut = self._futures.get(slot)
                    if fut is not None:
                        fut.cancel()

    def _settle(self, _future: Future) -> None:
        with self._cond:
            self._pending -= 1
            if self._pending == 0:
                self._busy(False)
                self._cond.notify_all()

    def _busy(self, busy: bool) -> None:
        if self._on_busy is not None:
            try:
                self._on_busy(busy)
            except Exception:  # pragma: no cover - a display hook must not break loading
                log.debug("busy hook failed", exc_info=True)

    # -- waiting -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a load is pending (lock-free: safe to read from another worker's busy hook)."""
        return self._pending > 0

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no load is pending (tests, scripts); False if ``timeout`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self) -> None:
        """Stop taking requests; running loads finish in the background."""
        self.invalidate()
        self._pool.shutdown(wait=False, cancel_futures=True)
