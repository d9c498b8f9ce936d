"""What the CLI prints: results on stdout, one-line warnings and errors on stderr, no secrets.

Warnings from the library (KitWarning and any other) print as ``ngff-kit: warning: <message>``
on one line, without Python's file and line, for as long as ``one_line_warnings`` is active.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Secrets this process was given or made up: scrubbed from any message we print by accident.
_SECRETS: set[str] = set()


def say(text: str = "") -> None:
    """stdout, flushed at once: ``serve`` runs for hours and its first lines must be seen."""
    print(text, flush=True)


def warn(text: str) -> None:
    print(f"ngff-kit: warning: {scrub(' '.join(text.split()))}", file=sys.stderr, flush=True)


def error(text: str) -> None:
    print(f"ngff-kit: error: {text}", file=sys.stderr, flush=True)


def scrub(text: str) -> str:
    """Replace every secret this process knows by ``***`` (belt and braces: kit errors hold
    none)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def remember_secret(value: str | None) -> str | None:
    if value:
        _SECRETS.add(value)
    return value


def one_line(exc: BaseException) -> str:
    """An exception as one scrubbed line (multi-line messages are joined)."""
    text = str(exc) or type(exc).__name__
    return scrub(" ".join(text.split()))


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: Any = None, line: str | None = None) -> None:
    warn(str(message))


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Every warning raised meanwhile (any thread) as one ``warning:`` line, each text once."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        warnings.showwarning = _show
        yield
