"""One HTTP client per process: the aiohttp session, proxies, retries, redirects, body limits.

Every HTTP request of the kit goes through ``http_client()`` (stores, refs range reads, the DANDI
resolver), so there is one place for each rule:

- one aiohttp session on the kit loop (connection pool of 256, no cookie jar, no session-level
  auth or headers), made again after a fork or on another loop; proxies read when it is made;
- credentials go per request as headers bound to one origin (``OriginHeaders``), and only to
  that origin; redirects are followed by hand (at most ``MAX_REDIRECTS``), and a hop to another
  origin carries no credential; ``follow_redirects=False`` hands the redirect back instead;
- 429/5xx/timeouts/resets are retried with bounded, jittered backoff honouring Retry-After,
  then a ``RemoteError`` says in plain words what the last attempt met;
- connecting and the headers together get ``2 * timeout`` (each wait at most ``timeout``);
- a body may be bounded in size (``BodyLimit``: refused from its Content-Length, or as soon as
  it grows past the limit) and must keep ``min_throughput`` once its first ``timeout`` seconds
  are over;
- every request, status, byte and failure is counted in the client's ``stats`` and in the
  caller's (``RequestStats``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from kit.auth import Credential, Origin, origin_of
from kit.errors import KitError, RemoteError
from kit.io.http.messages import describe_failure, shown
from kit.io.http.policy import MAX_REDIRECTS, BodyLimit, RequestPolicy, retryable
from kit.io.http.proxy import proxy_for
from kit.io.loop import running_kit_loop
from kit.io.stats import RequestStats

__all__ = ["CONNECTION_LIMIT", "HttpClient", "OriginHeaders", "Reply", "http_client"]

CONNECTION_LIMIT = 256  # wider than a 96-well plate stage, so a stage is one round trip
HEADERS_TIMEOUTS = 2  # connecting and the headers together get this many ``timeout``s
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, repr=False)
class OriginHeaders:
    """Credential headers that belong to one origin: sent there, never anywhere else."""

    origin: Origin
    headers: Mapping[str, str]
    kind: str | None = None  # the credential's kind, for messages
    prefix: str = ""  # "scheme://authority/" of the origin as written (a cheap first test)

    @classmethod
    def bind(cls, url: str, credential: Credential | None) -> OriginHeaders | None:
        """``credential``'s headers bound to ``url``'s origin (None for no credential)."""
        if credential is None:
            return None
        headers = credential.http_headers()
        if not headers:
            return None
        authority_end = url.find("/", url.find("://") + 3)
        prefix = url[: authority_end + 1] if authority_end > 0 else ""
        return cls(origin_of(url), headers, credential.kind, prefix)

    def applies_to(self, url: str) -> bool:
        if self.prefix and url.startswith(self.prefix):
            return True
        try:
            return origin_of(url) == self.origin
        except KitError:
            return False

    def __repr__(self) -> str:  # the headers are secrets
        return f"OriginHeaders({str(self.origin)!r}, kind={self.kind})"


@dataclass
class Reply:
    """A final answer: status, headers, body (when read), the URL that answered."""

    status: int
    headers: CIMultiDictProxy[str]  # the response's own (read-only) headers
    body: bytes
    url: str  # after redirects
    sent_auth: bool  # whether credential headers went with the final request


class _SlowHeaders(TimeoutError):
    """The status line and headers did not all arrive in time (retried, like any timeout)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer (status and headers) within {seconds:g} s")


class _TooSlow(Exception):
    """The body fell below the throughput floor (not retried: the next try would be as slow)."""


class HttpClient:
    """The process's HTTP machinery; call ``fetch`` on the kit loop (``http_client()``)."""

    def __init__(self, *, connection_limit: int = CONNECTION_LIMIT) -> None:
        self.connection_limit = connection_limit
        self.stats = RequestStats()  # every request of this process
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._proxies: dict[str, str] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def session(self) -> aiohttp.ClientSession:
        """The session for the running loop, made on first use (again after a fork)."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.closed or self._loop is not loop or self._pid != os.getpid():
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connection_limit),
                cookie_jar=aiohttp.DummyCookieJar(),  # cookies are not port-scoped: keep none
                trust_env=False,  # trust_env would also apply ~/.netrc on every hop
            )
            # aiohttp silently resends an idempotent request once when the connection drops;
            # our own bounded, counted, backed-off retry loop is the only one (private flag).
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session, self._loop, self._pid = session, loop, os.getpid()
            self._proxies = urllib.request.getproxies_environment()
        return session

    def proxy(self, url: str) -> str | None:
        """The proxy for ``url`` from the environment as read when the session was made."""
        return proxy_for(url, self._proxies) if self._proxies else None

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts for a policy's ``timeout`` (one immutable object per value)."""
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, sock_connect=seconds, sock_read=seconds)
        return timeout

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        policy: RequestPolicy,
        range_header: str | None = None,
        auth: OriginHeaders | None = None,
        read_body: bool = True,
        limit: BodyLimit | None = None,
        follow_redirects: bool = True,
        stats: RequestStats | None = None,
    ) -> Reply:
        """The final answer to ``method url`` after retries; ``RemoteError`` if none came.

        The body is read for 200 and 206 answers only (and only with ``read_body``).
        """
        counters = (self.stats,) if stats is None else (self.stats, stats)
        last = ""
        for attempt in range(policy.attempts):
            headers: Mapping[str, str] | None = None
            try:
                reply = await self._send(method, url, policy, range_header, auth, read_body,
                                         limit, follow_redirects, counters)
            except _TooSlow as slow:
                raise RemoteError(str(slow), where=shown(url)) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                for c in counters:
                    c.record_error()
                last = str(exc) if isinstance(exc, _SlowHeaders) else describe_failure(
                    exc, policy.timeout)
            else:
                if not retryable(reply.status):
                    return reply
                last = f"HTTP {reply.status}"
                headers = reply.headers
            if attempt + 1 < policy.attempts:
                await policy.sleep(policy.delay(attempt, headers))
        raise RemoteError(f"{method} failed after {policy.attempts} attempt(s); last error: "
                          f"{last}", where=shown(url)) from None

    async def _send(self, method: str, url: str, policy: RequestPolicy, range_header: str | None,
                    auth: OriginHeaders | None, read_body: bool, limit: BodyLimit | None,
                    follow_redirects: bool, counters: tuple[RequestStats, ...]) -> Reply:
        """One attempt: the request and the redirect hops it takes."""
        session = await self.session()
        timeout = self._timeout(policy.timeout)
        for _hop in range(MAX_REDIRECTS + 1):
            sent_auth = auth is not None and auth.applies_to(url)
            headers: Mapping[str, str] = (  # aiohttp copies them into the request's own
                auth.headers if auth is not None and sent_auth else _NO_HEADERS)
            if range_header:  # ranges address the raw bytes
                headers = {"Range": range_header, "Accept-Encoding": "identity", **headers}
            for c in counters:
                c.record_request()
            # One deadline per hop: connecting plus the status line and headers get
            # HEADERS_TIMEOUTS * timeout as a whole (a server trickling its headers cannot hold
            # the request), then the body moves it along with the data (the throughput floor).
            guard = asyncio.timeout(HEADERS_TIMEOUTS * policy.timeout)
            reader = _BodyReader(policy, limit, url)
            try:
                async with guard, session.request(
                        method, URL(url, encoded=True), headers=headers, allow_redirects=False,
                        timeout=timeout, proxy=self.proxy(url)) as resp:
                    status = resp.status
                    location = resp.headers.get("Location")
                    if status in _REDIRECT_STATUSES and location and follow_redirects:
                        for c in counters:
                            c.record_response(status)
                        url = urljoin(url, location)
                        if urlsplit(url).scheme not in ("http", "https"):
                            raise RemoteError("redirected to a non-HTTP URL", where=shown(url))
                        if status == 303 and method != "HEAD":
                            method = "GET"
                        continue
                    body = b""
                    if read_body and status in (200, 206):
                        body = await reader.read(resp, guard)
                    for c in counters:
                        c.record_response(status, len(body))
                    return Reply(status, resp.headers, body, url, sent_auth)
            except TimeoutError:
                if not guard.expired():
                    raise  # aiohttp's own: no data at all for `timeout` seconds
                if reader.started is None:
                    raise _SlowHeaders(HEADERS_TIMEOUTS * policy.timeout) from None
                raise reader.too_slow() from None
        raise RemoteError(f"more than {MAX_REDIRECTS} redirects", where=shown(url))

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class _BodyReader:
    """Reads a body bounded by ``limit`` and kept above the policy's throughput floor.

    The hop's deadline moves with the data: by ``timeout + n / min_throughput`` seconds after
    the headers, ``n`` bytes must have arrived. It only moves forward, so the headers' deadline
    holds until the body's floor passes it (a small, quick body never touches the timer).
    """

    def __init__(self, policy: RequestPolicy, limit: BodyLimit | None, url: str) -> None:
        self.policy, self.limit, self.url = policy, limit, url
        self.received = 0
        self.started: float | None = None  # loop time the headers arrived, once they have

    async def read(self, resp: aiohttp.ClientResponse, guard: asyncio.Timeout) -> bytes:
        limit, size = self.limit, resp.content_length
        if limit is not None and size is not None and size > limit.max_bytes:
            raise limit.exceeded(shown(self.url), limit.max_bytes, size)
        self.started = start = asyncio.get_running_loop().time()
        grace, rate = self.policy.timeout, self.policy.throughput
        parts: list[bytes] = []
        while True:
            deadline = start + grace + self.received / rate
            if deadline > (guard.when() or 0.0):  # only ever later: no timer churn per chunk
                guard.reschedule(deadline)
            chunk = await resp.content.readany()
            if not chunk:
                return b"".join(parts)
            self.received += len(chunk)
            if limit is not None and self.received > limit.max_bytes:
                raise limit.exceeded(shown(self.url), limit.max_bytes, None)
            parts.append(chunk)

    def too_slow(self) -> _TooSlow:
        elapsed = asyncio.get_running_loop().time() - (self.started or 0.0)
        return _TooSlow(
            f"the server sent {self.received} bytes in {elapsed:.1f} s, slower than the minimum "
            f"of {self.policy.throughput:g} bytes/s (kit.io.http.policy.MIN_THROUGHPUT)")


_client = HttpClient()


def http_client() -> HttpClient:
    """The process's client (its session is bound to the kit loop on first use)."""
    return _client


@atexit.register
def _close_at_exit() -> None:
    """Close the session cleanly on the kit loop, if there is one (best effort at shutdown)."""
    loop = running_kit_loop()
    client = _client
    if loop is None or client._session is None or client._loop is not loop:
        return
    with contextlib.suppress(Exception):  # interpreter shutdown: best effort
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(2)
