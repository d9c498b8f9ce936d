"""One line per request, without secrets: time, student, method, path, status, bytes, source.

The student is named by their name (``alice``, or ``class@10.0.0.7`` with a class password),
never by a token; the query string is not logged; the path is quoted so a crafted one cannot
forge a line.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO
from urllib.parse import quote

MAX_PATH = 300


class AccessLog:
    """Writes to ``stream`` (stderr by default), one flushed line per request."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def line(self, *, student: str | None, method: str, path: str, status: int, size: int,
             source: str, seconds: float) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        shown = quote(path, safe="/._-~:@!$&'()*+,;=")[:MAX_PATH]
        text = (f"{stamp} {quote(student or '-', safe='@._-')} {method} {shown} {status} {size} "
                f"{source or '-'} {seconds * 1000:.0f}ms\n")
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
