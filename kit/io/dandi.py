"""DANDI asset URLs: exchange the stable API URL for its presigned S3 URL, once per window.

Refs files keep the stable API URL (``.../api/assets/<id>/download/``); the archive answers it
with a redirect to a presigned S3 URL. Resolving that on every chunk read (what plain fsspec
does) costs one API round trip per chunk, and LINDI's fixed 10-minute cache knows nothing of the
URL's real lifetime. Here:

- the token (``Authorization: token <key>``) goes to the API origin only; the redirect is read
  from ``Location`` with redirects disabled, so neither S3 nor anything else ever sees it;
- the presigned URL is reused until ``X-Amz-Date + X-Amz-Expires`` minus a margin proportional
  to its lifetime (``min(60 s, lifetime / 3)``): a 3 s URL is used for 2 s, a 6 h one until a
  minute before its end;
- concurrent resolutions of one API URL share one in-flight exchange;
- a 403 from S3 (an expired or revoked signature) renews the URL once and retries once.

Which URLs are DANDI API URLs is configuration, not hard-coded prefixes: the known instances
(``kit.auth.DANDI_INSTANCES``), the instance of any ``DandiToken`` given or registered, and any
extra API base URLs the caller names.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urljoin, urlsplit

from kit.auth import DandiToken, Scope, credentials, origin_of, redact, resolve
from kit.auth.credentials import DANDI_INSTANCES
from kit.auth.env import DANDI_ENV_ADVICE
from kit.errors import (
    AuthenticationError,
    KitError,
    NotFound,
    PermissionDenied,
    RemoteError,
)
from kit.io.http import OriginHeaders, RequestPolicy, http_client
from kit.io.http.policy import Sleep
from kit.io.loop import on_kit_loop
from kit.io.refs_fetch import http_read
from kit.io.stats import RequestStats

__all__ = [
    "DEFAULT_LIFETIME",
    "DandiAccess",
    "DandiResolver",
    "Presigned",
    "presigned_window",
    "renew_margin",
    "resolver",
]

#: Assumed lifetime of a redirect target that states none (a 403 still renews it early).
DEFAULT_LIFETIME = 600.0
EXCHANGE_RETRIES = 3
EXCHANGE_TIMEOUT = 30.0
EXCHANGE_BACKOFF = 0.2  # seconds before the first retry of an exchange; doubles after
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
HOW_TO_GIVE_A_TOKEN = (
    "Give a DANDI API key with kit.open(..., auth=kit.DandiToken('<key>', instance=...)), "
    f"{DANDI_ENV_ADVICE}, or call kit.login()."
)


def _shown(url: str) -> str:
    """The one form of a URL this module puts in a message."""
    return redact(url)


def renew_margin(lifetime: float) -> float:
    """How long before its expiry a presigned URL is replaced."""
    return min(60.0, lifetime / 3.0)


def presigned_window(url: str, received: float) -> tuple[float, float]:
    """(issued, lifetime) of a presigned URL in local clock seconds, from its query.

    ``X-Amz-Date`` + ``X-Amz-Expires`` (SigV4), ``X-Goog-Date`` + ``X-Goog-Expires``, or an epoch
    ``Expires``; otherwise ``DEFAULT_LIFETIME`` from ``received``. The issue time is never taken
    later than ``received``, so a server clock running ahead cannot stretch the window.
    """
    q = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    for prefix in ("x-amz-", "x-goog-"):
        date, expires = q.get(prefix + "date"), q.get(prefix + "expires")
        if date and expires and expires.isdigit():
            try:
                issued = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=UTC).timestamp()
            except ValueError:
                continue
            return min(issued, received), float(expires)
    expires = q.get("expires")
    if expires and expires.isdigit():
        return received, max(float(expires) - received, 0.0)
    return received, DEFAULT_LIFETIME


@dataclass(frozen=True)
class Presigned:
    """A resolved URL and when to stop using it."""

    url: str
    issued: float
    lifetime: float

    @property
    def renew_at(self) -> float:
        return self.issued + self.lifetime - renew_margin(self.lifetime)

    @property
    def expires_at(self) -> float:
        return self.issued + self.lifetime

    def usable(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.renew_at

    def __repr__(self) -> str:
        return f"Presigned({_shown(self.url)!r}, lifetime={self.lifetime:g})"


def _fingerprint(token: str | None) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else "-"


class DandiResolver:
    """Per-process cache of presigned URLs by (API URL, token); lives on the kit loop.

    ``clock`` (seconds, like ``time.time``) decides when a URL is due for renewal and ``sleep``
    waits between retries of an exchange: tests inject fakes instead of waiting for real.
    Exchanges go through the kit's one HTTP client, counted in ``stats``.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self._cache: dict[tuple[str, str], Presigned] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future] = {}
        self.stats = RequestStats()  # API round trips (retries included)

    @property
    def exchanges(self) -> int:
        """API round trips made (``stats.requests``)."""
        return self.stats.requests

    def clear(self) -> None:
        self._cache.clear()

    async def resolve(self, api_url: str, token: str | None, *,
                      stale: str | None = None) -> Presigned:
        """The presigned URL for ``api_url``; ``stale`` names one known to be refused."""
        return await on_kit_loop(self._resolve(api_url, token, stale))

    async def _resolve(self, api_url: str, token: str | None, stale: str | None) -> Presigned:
        key = (api_url, _fingerprint(token))
        cached = self._cache.get(key)
        if cached is not None and cached.url != stale and cached.usable(self.clock()):
            return cached
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._exchange(key, api_url, token))
            self._inflight[key] = pending
        return await asyncio.shield(pending)

    async def _exchange(self, key: tuple[str, str], api_url: str, token: str | None) -> Presigned:
        try:
            location, received = await self._ask(api_url, token)
            presigned = Presigned(location, *presigned_window(location, received))
            self._cache[key] = presigned
            return presigned
        finally:
            self._inflight.pop(key, None)

    def _policy(self) -> RequestPolicy:
        return RequestPolicy(EXCHANGE_RETRIES, EXCHANGE_BACKOFF, EXCHANGE_TIMEOUT,
                             sleep=self.sleep)

    async def _ask(self, api_url: str, token: str | None) -> tuple[str, float]:
        """One exchange: the redirect's target, read with redirects off, and when it came.

        The client retries 429, 5xx and dropped connections; the token is bound to the API's
        origin, and the redirect is never followed, so no other host sees it.
        """
        auth = None
        if token:
            auth = OriginHeaders(origin_of(api_url), {"Authorization": f"token {token}"},
                                 "DandiToken")
        where = _shown(api_url)
        try:
            reply = await http_client().fetch("GET", api_url, policy=self._policy(), auth=auth,
                                              read_body=False, follow_redirects=False,
                                              stats=self.stats)
        except RemoteError as exc:
            raise RemoteError(f"the DANDI API did not answer: {exc.message}",
                              where=where) from None
        location = reply.headers.get("Location")
        if reply.status in _REDIRECTS and location:
            target = urljoin(api_url, location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise RemoteError("DANDI redirected to a non-HTTP URL", where=where)
            return target, self.clock()
        raise _exchange_error(reply.status, token, where)

    async def read(self, api_url: str, token: str | None, offset: int,
                   length: int | None, *, stats: RequestStats | None = None) -> bytes | None:
        """Bytes of the asset behind ``api_url``; renews the URL once on a 403 from S3."""
        presigned = await self.resolve(api_url, token)
        try:
            return await http_read(presigned.url, offset, length, None, stats=stats)
        except PermissionDenied:
            fresh = await self.resolve(api_url, token, stale=presigned.url)
            try:
                return await http_read(fresh.url, offset, length, None, stats=stats)
            except PermissionDenied:
                raise PermissionDenied(
                    "the storage refused a freshly presigned URL of this DANDI asset "
                    "(HTTP 403 twice)", where=_shown(api_url)) from None


def _exchange_error(status: int, token: str | None, where: str) -> KitError:
    if status == 401:
        what = ("the DANDI API refused the token given" if token else
                "this DANDI asset needs a token (it may be embargoed) and none was given")
        return AuthenticationError(f"HTTP 401: {what}. {HOW_TO_GIVE_A_TOKEN}", where=where)
    if status == 403:
        return PermissionDenied("HTTP 403: the DANDI token given may not read this asset "
                                "(embargoed for another user?)", where=where)
    if status == 404:
        return NotFound("no such DANDI asset (HTTP 404)", where=where)
    if status == 400:
        return RemoteError("the DANDI API gives no download link here (HTTP 400; Zarr assets "
                           "are read by their own URLs)", where=where)
    return RemoteError(f"the DANDI API answered HTTP {status} instead of a redirect",
                       where=where)


#: The process's resolver (one cache for every store and every open).
resolver = DandiResolver()


class DandiAccess:
    """Which URLs are DANDI API URLs, and the token for each: picklable configuration."""

    def __init__(self, tokens: Iterable[DandiToken] = (), extra_instances: Iterable[str] = ()):
        self._tokens = {t.api_url: t for t in tokens}
        bases = set(self._tokens) | {url for url, _ in DANDI_INSTANCES.values()}
        for item in extra_instances:
            bases.add(DandiToken(None, instance=item).api_url)
        self._bases = sorted(bases, key=len, reverse=True)

    def api_base(self, url: str) -> str | None:
        """The instance base URL ``url`` belongs to, or None (also looks in the registry)."""
        for base in self._bases:
            if url.startswith(base + "/"):
                return base
        registered = credentials.lookup(url) if url.startswith(("http:", "https:")) else None
        if isinstance(registered, DandiToken) and url.startswith(registered.api_url + "/"):
            return registered.api_url
        return None

    def token_for(self, base: str) -> str | None:
        """The key for ``base``, by ``kit.auth.resolve``'s DANDI rule: given > registered for
        its instance > env (known instances only)."""
        found = resolve(base, explicit=self._tokens.get(base), scope=Scope.DANDI_API)
        return found.token if isinstance(found, DandiToken) else None

    async def read(self, url: str, offset: int, length: int | None, *,
                   stats: RequestStats | None = None) -> bytes | None:
        base = self.api_base(url)
        assert base is not None
        return await resolver.read(url, self.token_for(base), offset, length, stats=stats)
