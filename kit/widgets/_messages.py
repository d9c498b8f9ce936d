"""Readable, secret-free messages for the widgets' status lines.

A notebook user should see one sentence that says what went wrong and what to do, never a
traceback. Kit errors already name where and what without credentials; anything else (a bug, a
third-party error) is shown by type and message with every URL in it redacted, because its text
may quote a presigned URL.
"""

from __future__ import annotations

import html

from kit.auth import redact
from kit.auth.env import ENV_ADVICE
from kit.errors import (
    AuthenticationError,
    KitError,
    NotFound,
    PermissionDenied,
    RemoteError,
)

__all__ = ["SPINNER", "esc", "readable_error", "status_html"]

#: A CSS-only spinner (no JavaScript): a rotating ring shown while remote data arrives.
SPINNER = (
    "<span style='display:inline-block;width:0.9em;height:0.9em;border:2px solid #bbb;"
    "border-top-color:#1565c0;border-radius:50%;animation:kit-spin 0.8s linear infinite;"
    "vertical-align:-0.1em'></span><style>@keyframes kit-spin{to{transform:rotate(360deg)}}</style>"
)

_COLORS = {"info": "#555", "busy": "#1565c0", "ok": "#2e7d32", "warn": "#b26a00",
           "error": "#c62828"}


def readable_error(exc: BaseException) -> str:
    """One line for the user: what failed and what to do (plain text, no secrets)."""
    return redact(_readable(exc))


def _readable(exc: BaseException) -> str:
    where = f" ({exc.where})" if isinstance(exc, KitError) and exc.where else ""
    if isinstance(exc, AuthenticationError):
        return ("The server needs valid credentials (HTTP 401)" + where + ". Sign in with "
                f"kit.login(url), or {ENV_ADVICE} before starting Jupyter.")
    if isinstance(exc, PermissionDenied):
        return ("Access denied (HTTP 403)" + where + ": the credentials were accepted but may not "
                "read this dataset, or a presigned link has expired.")
    if isinstance(exc, RemoteError):
        return "The server could not be reached or kept failing" + where + ": " + exc.message
    if isinstance(exc, NotFound):
        return "Not found" + where + ": " + exc.message
    if isinstance(exc, KitError):
        return redact(exc)
    if isinstance(exc, TimeoutError):
        return "No answer in time; the server may be slow or unreachable."
    text = redact(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def esc(text: object) -> str:
    """HTML-escape anything that came from data or a server."""
    return html.escape(str(text), quote=True)


def status_html(text: str, kind: str = "info", *, spinner: bool = False) -> str:
    """A one-line status in the widget's colours (``text`` is escaped here)."""
    color = _COLORS.get(kind, _COLORS["info"])
    lead = SPINNER + " " if spinner else ""
    return f"<span style='color:{color}'>{lead}{esc(text)}</span>"
