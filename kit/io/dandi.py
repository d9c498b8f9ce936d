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
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp

from kit.auth import DandiToken, credentials, redact_url
from kit.auth.credentials import DANDI_INSTANCES
from kit.errors import AuthenticationError, KitError, NotFound, PermissionDenied, RemoteError
from kit.io.http import proxy_for
from kit.io.loop import on_kit_loop
from kit.io.refs_fetch import http_read

__all__ = [
    "DandiResolver", "Presigned", "DandiAccess", "resolver", "presigned_window", "renew_margin",
    "DEFAULT_LIFETIME",
]

#: Assumed lifetime of a redirect target that states none (a 403 still renews it early).
DEFAULT_LIFETIME = 600.0
EXCHANGE_RETRIES = 3
EXCHANGE_TIMEOUT = 30.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
HOW_TO_GIVE_A_TOKEN = (
    "Give a DANDI API key with kit.open(..., auth=kit.DandiToken('<key>', instance=...)), "
    "set DANDI_API_KEY (DANDI_SANDBOX_API_KEY for the sandbox), or call kit.login()."
)


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
                    tzinfo=timezone.utc).timestamp()
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
        return f"Presigned({redact_url(self.url)!r}, lifetime={self.lifetime:g})"


def _fingerprint(token: str | None) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else "-"


class DandiResolver:
    """Per-process cache of presigned URLs by (API URL, token); lives on the kit loop."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Presigned] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future] = {}
        self.exchanges = 0  # API round trips made (tests count them)

    def clear(self) -> None:
        self._cache.clear()

    async def resolve(self, api_url: str, token: str | None, *,
                      stale: str | None = None) -> Presigned:
        """The presigned URL for ``api_url``; ``stale`` names one known to be refused."""
        return await on_kit_loop(self._resolve(api_url, token, stale))

    async def _resolve(self, api_url: str, token: str | None, stale: str | None) -> Presigned:
        key = (api_url, _fingerprint(token))
        cached = self._cache.get(key)
        if cached is not None and cached.url != stale and cached.usable():
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

    async def _ask(self, api_url: str, token: str | None) -> tuple[str, float]:
        """One exchange (with bounded retries of 5xx and dropped connections)."""
        headers = {"Authorization": f"token {token}"} if token else {}
        where = redact_url(api_url)
        last = ""
        for attempt in range(EXCHANGE_RETRIES + 1):
            if attempt:
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0) * random.uniform(0.75, 1.0))
            self.exchanges += 1
            try:
                status, location = await _get_without_redirect(api_url, headers)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                last = type(exc).__name__
                continue
            if status in _REDIRECTS and location:
                target = urljoin(api_url, location)
                if urlsplit(target).scheme not in ("http", "https"):
                    raise RemoteError("DANDI redirected to a non-HTTP URL", where=where)
                return target, time.time()
            if status in (429, 500, 502, 503, 504):
                last = f"HTTP {status}"
                continue
            raise _exchange_error(status, token, where)
        raise RemoteError(f"DANDI API did not answer after {EXCHANGE_RETRIES + 1} attempts "
                          f"(last: {last})", where=where)

    async def read(self, api_url: str, token: str | None, offset: int,
                   length: int | None) -> bytes | None:
        """Bytes of the asset behind ``api_url``; renews the URL once on a 403 from S3."""
        presigned = await self.resolve(api_url, token)
        try:
            return await http_read(presigned.url, offset, length, None)
        except PermissionDenied:
            fresh = await self.resolve(api_url, token, stale=presigned.url)
            try:
                return await http_read(fresh.url, offset, length, None)
            except PermissionDenied:
                raise PermissionDenied(
                    "the storage refused a freshly presigned URL of this DANDI asset "
                    "(HTTP 403 twice)", where=redact_url(api_url)) from None


async def _get_without_redirect(url: str, headers: dict[str, str]) -> tuple[int, str | None]:
    """GET ``url`` and return (status, Location) without following any redirect."""
    timeout = aiohttp.ClientTimeout(total=EXCHANGE_TIMEOUT)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     trust_env=False, timeout=timeout) as session:
        async with session.get(url, headers=headers, allow_redirects=False,
                               proxy=proxy_for(url)) as resp:
            return resp.status, resp.headers.get("Location")


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
        """The key for ``base``: given > registered for its origin > env (known instances)."""
        if base in self._tokens and self._tokens[base].token:
            return self._tokens[base].token
        registered = credentials.lookup(base)
        if isinstance(registered, DandiToken) and registered.api_url == base and registered.token:
            return registered.token
        for name, (url, _) in DANDI_INSTANCES.items():
            if url == base:
                return DandiToken(None, instance=name).token
        return None

    async def read(self, url: str, offset: int, length: int | None) -> bytes | None:
        base = self.api_base(url)
        assert base is not None
        return await resolver.read(url, self.token_for(base), offset, length)
