"""Which credential an HTTP request gets.

The chain, first match wins:

1. the explicit ``auth=`` argument of the call;
2. the session registry (``kit.credentials``, filled by ``kit.login()`` or ``register``), exact
   origin match;
3. environment variables: ``NGFF_KIT_TOKEN`` (a bearer token), else ``NGFF_KIT_USERNAME`` together
   with ``NGFF_KIT_PASSWORD`` (HTTP Basic);
4. the netrc file (``$NETRC``, else ``~/.netrc``): a ``machine <host>`` entry's login and password
   as HTTP Basic. The catch-all ``default`` entry is ignored, so netrc never hands a password to
   a host it does not name.

Whatever is found is bound by the caller to the origin being opened, and to nothing else: env and
netrc credentials do not follow redirects or references to other hosts.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

from kit.auth.credentials import BasicAuth, BearerToken, Credential
from kit.auth.origin import origin_of
from kit.auth.registry import CredentialRegistry, credentials

__all__ = [
    "resolve_http_credential",
    "ENV_TOKEN",
    "ENV_USERNAME",
    "ENV_PASSWORD",
]

ENV_TOKEN = "NGFF_KIT_TOKEN"
ENV_USERNAME = "NGFF_KIT_USERNAME"
ENV_PASSWORD = "NGFF_KIT_PASSWORD"


def _from_env() -> Credential | None:
    token = os.environ.get(ENV_TOKEN)
    if token:
        return BearerToken(token)
    user, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
    if user and password is not None:
        return BasicAuth(user, password)
    return None


def _netrc_path() -> Path | None:
    env = os.environ.get("NETRC")
    if env:
        return Path(env).expanduser()
    try:
        return Path.home() / ".netrc"
    except RuntimeError:  # no home directory
        return None


def _from_netrc(host: str) -> Credential | None:
    path = _netrc_path()
    if path is None or not path.is_file():
        return None
    try:
        entries = netrc.netrc(os.fspath(path)).hosts
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError):
        return None  # an unreadable netrc is no credential (the error text may quote it)
    entry = entries.get(host)
    if entry is None:
        return None
    login, _account, password = entry
    if not password:
        return None
    try:
        return BasicAuth(login or "", password)
    except (TypeError, ValueError):
        return None


def resolve_http_credential(
    url: str,
    explicit: Credential | None = None,
    *,
    registry: CredentialRegistry = credentials,
) -> Credential | None:
    """The credential for an HTTP(S) ``url`` by the chain above, or None."""
    if explicit is not None:
        if not isinstance(explicit, Credential):
            raise TypeError(f"auth= must be a kit credential, got {type(explicit).__name__}")
        return explicit
    found = registry.lookup(url)
    if found is not None:
        return found
    origin = origin_of(url)
    if origin.scheme not in ("http", "https"):
        return None
    return _from_env() or _from_netrc(origin.host)
