"""Reading the upstream dataset through the kit's store layer, one request per key.

The relay's ``Location`` comes from ``kit.io.sources.open_location`` (HTTP with any credential,
S3, refs, DANDI through refs), so the store's concurrency limit, document cache, retries with
Retry-After and credential rules are the kit's own. On top:

- answers are kept in a bounded ``MemoryCache`` (data, or "missing" for a 404);
- requests for a key already in flight wait for that one fetch (coalescing), however many
  students ask at once; the fetch is shielded, so a student hanging up cancels nothing;
- failures become an ``UpstreamError``: a status and a message for the student that names the
  key and what went wrong, never the upstream's URL, credential or error text (those go to the
  instructor's log, redacted and scrubbed).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable

from zarr.core.buffer import default_buffer_prototype

from kit.auth import redact
from kit.errors import AuthenticationError, KitError, PermissionDenied, RemoteError
from kit.io.location import Location
from kit.relay.memcache import Entry, MemoryCache
from kit.relay.status import RelayStats

#: Seconds one upstream fetch may take in all (the kit's retries included) before a 504.
UPSTREAM_DEADLINE = 60.0
#: Concurrent upstream reads (the KitStore's limit): polite to the archive, enough for a class.
UPSTREAM_CONCURRENCY = 32

MEMORY, COALESCED, UPSTREAM, SYNTHESISED = "memory", "coalesced", "upstream", "consolidated"


class UpstreamError(Exception):
    """What a student is told when the upstream failed: an HTTP status and a plain message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def etag_of(data: bytes) -> str:
    """A strong ETag: a hash of the bytes (the same bytes always get the same tag)."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


class Upstream:
    """The upstream dataset at ``location``; call ``get`` on the kit loop."""

    def __init__(self, location: Location, *, cache: MemoryCache, stats: RelayStats,
                 log: Callable[[str], None], secrets: Iterable[str] = (),
                 concurrency: int = UPSTREAM_CONCURRENCY) -> None:
        self.location = location
        self.cache = cache
        self.stats = stats
        self.log = log
        self._secrets = tuple(s for s in secrets if s)
        self._inflight: dict[str, asyncio.Future[Entry]] = {}
        location.store.concurrency = concurrency  # read when its semaphore is first made

    async def get(self, key: str) -> tuple[Entry, str]:
        """The answer for ``key`` and where it came from (memory, coalesced, upstream)."""
        entry = self.cache.get(key)
        if entry is not None:
            return entry, MEMORY
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), COALESCED
        task = asyncio.ensure_future(self._fetch(key))
        self._inflight[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return await asyncio.shield(task), UPSTREAM

    def _done(self, key: str, task: asyncio.Future[Entry]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have hung up

    async def _fetch(self, key: str) -> Entry:
        self.stats.upstream_requests += 1
        store_key = self.location.key(key)
        try:
            async with asyncio.timeout(UPSTREAM_DEADLINE):
                buf = await self.location.store.get(store_key, default_buffer_prototype())
        except TimeoutError:
            self.stats.upstream_errors += 1
            self.log(f"upstream: no answer for {key} within {UPSTREAM_DEADLINE:g} s")
            raise UpstreamError(504, f"{key}: the upstream did not answer within "
                                f"{UPSTREAM_DEADLINE:g} s; try again later") from None
        except Exception as exc:  # noqa: BLE001 - every failure becomes a student-safe answer
            self.stats.upstream_errors += 1
            self.log(f"upstream: {key}: {self.scrub(redact(str(exc)))[:300]}")
            raise student_error(exc, key) from None
        data = None if buf is None else buf.to_bytes()
        entry = Entry(data, None if data is None else etag_of(data))
        self.cache.put(key, entry)
        return entry

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def student_error(exc: BaseException, key: str) -> UpstreamError:
    """The student's view of an upstream failure: the kind of failure, not its text."""
    if isinstance(exc, AuthenticationError):
        return UpstreamError(502, f"{key}: the upstream refused the relay's credentials "
                             "(HTTP 401); the instructor must check them")
    if isinstance(exc, PermissionDenied):
        return UpstreamError(502, f"{key}: the upstream denied the relay access (HTTP 403); "
                             "the instructor must check the credentials")
    if isinstance(exc, RemoteError):
        text = str(exc).lower()
        if "timed out" in text or "timeout" in text or "no answer" in text:
            return UpstreamError(504, f"{key}: the upstream did not answer in time; "
                                 "try again later")
        return UpstreamError(502, f"{key}: the upstream could not be read (unreachable, or it "
                             "kept failing); try again later")
    if isinstance(exc, KitError):
        return UpstreamError(502, f"{key}: the upstream's answer could not be used "
                             f"({type(exc).__name__})")
    return UpstreamError(502, f"{key}: reading the upstream failed ({type(exc).__name__})")


_SECRET_FIELDS = ("password", "token", "secret", "key", "given", "service_account_key",
                  "account_key", "sas_token")


def credential_secrets(credential: object) -> tuple[str, ...]:
    """Every secret string a credential holds (scrubbed from the relay's own log lines)."""
    if credential is None:
        return ()
    found = [getattr(credential, name, None) for name in _SECRET_FIELDS]
    headers = getattr(credential, "http_headers", None)
    if callable(headers):
        try:
            found += list(headers().values())
        except (KitError, TypeError):
            pass  # not an HTTP credential, or a DANDI token without its variable
    return tuple(dict.fromkeys(s for s in found if isinstance(s, str) and len(s) >= 4))


def open_upstream(url: str, credential: object = None, *, cache: str | None = None) -> Location:
    """The upstream's root ``Location``, read with ``credential``; ``cache`` (a folder) puts the
    kit's persistent cache under it (None follows ``NGFF_KIT_CACHE``, as ``kit.open`` does)."""
    from kit.io.sources import open_location

    return open_location(url, auth=credential, cache=cache)  # type: ignore[arg-type]
