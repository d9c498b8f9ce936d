"""What a failed HTTP exchange says: plain words, no secrets, advice a user can follow.

The one place the HTTP modules turn a URL into text (``shown``), so what may appear in a message
is decided here.
"""

from __future__ import annotations

import os

import aiohttp

from kit.auth import redact
from kit.auth.env import ENV_ADVICE
from kit.errors import AuthenticationError, KitError, PermissionDenied, RemoteError

__all__ = ["HOW_TO_GIVE_CREDENTIALS", "describe_failure", "shown", "status_error"]

# aiohttp >= 3.10 names these; with an older one the generic branches below answer instead
_DNS_ERROR = getattr(aiohttp, "ClientConnectorDNSError", ())
_RESET_ERROR = getattr(aiohttp, "ClientConnectionResetError", ConnectionResetError)

HOW_TO_GIVE_CREDENTIALS = (
    "Give them with kit.open(url, auth=kit.BasicAuth(username, password)) or "
    f"auth=kit.BearerToken(token), {ENV_ADVICE}, add a 'machine' entry to ~/.netrc, "
    "or call kit.login() in the notebook."
)


def shown(url: str) -> str:
    """``url`` as it may appear in a message: no userinfo, no signature or token values."""
    return redact(url)


def _reason(error: BaseException | None) -> str:
    """An OS error in lower-case words ("connection refused"), without errno or addresses."""
    errno = getattr(error, "errno", None)
    text = os.strerror(errno) if isinstance(errno, int) and errno > 0 else (
        getattr(error, "strerror", None) or (str(error) if error else "") or "network error")
    return text[:1].lower() + text[1:]


def _host_port(exc: aiohttp.ClientConnectorError) -> str:
    host = f"[{exc.host}]" if ":" in exc.host else exc.host
    return f"{host}:{exc.port}"


def describe_failure(exc: BaseException, timeout: float) -> str:
    """One failed attempt that got no HTTP answer, in plain words (aiohttp's texts are internals,
    e.g. "ClientConnectorError: Cannot connect to host ... ssl:default [...]")."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, _DNS_ERROR):
        return f"cannot find the host {exc.host} (name lookup failed)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {_host_port(exc)} could not be verified"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"the TLS handshake with {_host_port(exc)} failed"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"cannot connect to the proxy {_host_port(exc)}: {_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {_host_port(exc)}: {_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off before its end"
    if isinstance(exc, (ConnectionResetError, _RESET_ERROR)):
        return "the connection was reset"
    if isinstance(exc, OSError):
        return _reason(exc)
    text = redact(str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def status_error(status: int, where: str, *, kind: str | None, sent_auth: bool,
                 origin: object = None) -> KitError:
    """The typed error for an HTTP status that is neither data nor a missing key.

    ``kind`` is the credential's kind bound to ``origin`` (None: none), ``sent_auth`` whether it
    went with the final request (a redirect to another origin drops it).
    """
    if status == 401:
        if sent_auth:
            what = f"the server refused the credentials given ({kind})"
        elif kind:
            what = (f"the server asked for credentials; the {kind} for {origin} was not "
                    "sent because the request was redirected to another origin")
        else:
            what = "the server asked for credentials and none were given"
        return AuthenticationError(f"HTTP 401: {what}. {HOW_TO_GIVE_CREDENTIALS}", where=where)
    if status == 403:
        return PermissionDenied(
            "HTTP 403: access refused. The credentials given may be valid but not allowed "
            "to read this, or a presigned URL has expired: check that the account may read "
            "this dataset (kit.open(url, auth=...) or kit.login()), or ask for a fresh link.",
            where=where)
    return RemoteError(f"unexpected HTTP {status}", where=where)
