"""Readable, secret-free messages for the widgets' status lines.

A notebook user should see one sentence that says what went wrong and what to do, never a
traceback. Kit errors already name where and what without credentials; anything else (a bug, a
third-party error) is shown by type and message with every URL in it redacted, because its text
may quote a presigned URL.
"""

from __future__ import annotations

import html
import re

from kit.auth import redact_url
from kit.errors import (
    AuthenticationError,
    KitError,
    NotFound,
    PermissionDenied,
    RemoteError,
)

__all__ = ["SPINNER", "esc", "readable_error", "redact", "status_html"]

_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+")

#: A CSS-only spinner (no JavaScript): a rotating ring shown while remote data arrives.
SPINNER = (
    "<span style='display:inline-block;width:0.9em;height:0.9em;border:2px solid #bbb;"
    "border-top-color:#1565c0;border-radius:50%;animation:kit-spin 0.8s linear infinite;"
    "vertical-align:-0.1em'></span><style>@keyframes kit-spin{to{transform:rotate(360deg)}}</style>"
)

_COLORS = {"info": "#555", "busy": "#1565c0", "ok": "#2e7d32", "warn": "#b26a00", "error": "#c62828"}


def redact(url: str) -> str:
    """A URL as the widgets show it: the kit's one redaction function, called only here."""
    return redact_url(url)


def _redact_text(text: str) -> str:
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)


def readable_error(exc: BaseException) -> str:
    """One line for the user: what failed and what to do (plain text, no secrets)."""
    return _redact_text(_readable(exc))


def _readable(exc: BaseException) -> str:
    where = f" ({exc.where})" if isinstance(exc, KitError) and exc.where else ""
    if isinstance(exc, AuthenticationError):
        return ("The server needs valid credentials (HTTP 401)" + where + ". Sign in with "
                "kit.login(url), or set NGFF_KIT_TOKEN (or NGFF_KIT_USERNAME and "
                "NGFF_KIT_PASSWORD) before starting Jupyter.")
    if isinstance(exc, PermissionDenied):
        return ("Access denied (HTTP 403)" + where + ": the credentials were accepted but may not "
                "read this dataset, or a presigned link has expired.")
    if isinstance(exc, RemoteError):
        return "The server could not be reached or kept failing" + where + ": " + exc.message
    if isinstance(exc, NotFound):
        return "Not found" + where + ": " + exc.message
    if isinstance(exc, KitError):
        return _redact_text(str(exc))
    if isinstance(exc, TimeoutError):
        return "No answer in time; the server may be slow or unreachable."
    text = _redact_text(str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def esc(text: object) -> str:
    """HTML-escape anything that came from data or a server."""
    return html.escape(str(text), quote=True)


def status_html(text: str, kind: str = "info", *, spinner: bool = False) -> str:
    """A one-line status in the widget's colours (``text`` is escaped here)."""
    color = _COLORS.get(kind, _COLORS["info"])
    lead = SPINNER + " " if spinner else ""
    return f"<span style='color:{color}'>{lead}{esc(text)}</span>"
