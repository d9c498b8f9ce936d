"""S3, GCS and Azure Blob through obstore (Rust's object_store): a read-only zarr store.

Requests are awaited on whatever loop calls (the kit's, via ``KitStore``): obstore's futures
resolve on the calling asyncio loop, so there is no thread hop per request and no signing in
Python. ``KitStore`` around it keeps the kit's rules: one concurrency limit, the document cache.

What this module adds:

- the kit credential turned into the client's configuration, the secret handed over through a
  credential provider (never in the client's config, so never in its pickle);
- refusals told apart from the XML/JSON error code the server sends: a bad secret, an unknown
  key, an invalid or expired token are an ``AuthenticationError``; any other 401/403 is
  ``PermissionDenied`` (saying so when the read was anonymous); a missing key is absent;
- bounded retries (5xx, connection errors) with backoff, and timeouts;
- pickling for dask.distributed: the URL and the kit credential travel (the secret inside the
  payload, as for the HTTP store), the client is rebuilt on the worker.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype

from kit.auth import (
    AzureCredentials,
    Credential,
    GCSCredentials,
    S3Credentials,
    Scope,
    redact,
)
from kit.auth import env as auth_env
from kit.auth.env import first_env
from kit.errors import AuthenticationError, KitError, PermissionDenied, RemoteError
from kit.io.stats import RequestStats

__all__ = ["CLOUD_SCHEMES", "CloudStore", "cloud_store"]

#: URL scheme -> (cloud name, credential scope).
CLOUD_SCHEMES: dict[str, tuple[str, Scope]] = {
    "s3": ("s3", Scope.S3), "s3a": ("s3", Scope.S3),
    "gs": ("gcs", Scope.GCS), "gcs": ("gcs", Scope.GCS),
    "az": ("azure", Scope.AZURE), "abfs": ("azure", Scope.AZURE), "abfss": ("azure", Scope.AZURE),
}

#: Error codes (S3, GCS, Azure) that mean "these credentials are wrong or no longer valid".
BAD_CREDENTIAL_CODES = frozenset({
    "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AuthenticationFailed", "InvalidAuthenticationInfo",
    "AuthenticationRequired", "authError", "invalid_grant",
})
#: Azure's (and Azurite's, whatever code it sends) message for a bad key or an expired SAS.
_FAILED_AUTHENTICATION = "<Message>Server failed to authenticate the request"
_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>|\"reason\":\s*\"([A-Za-z_]+)\"")
_STATUS = re.compile(r"status code: (\d{3})")
_ADVICE = {"s3": "kit.S3Credentials(key=..., secret=..., token=...) or the AWS_* variables",
           "gcs": "kit.GCSCredentials(service_account_file=...) or GOOGLE_APPLICATION_CREDENTIALS",
           "azure": "kit.AzureCredentials(account=..., account_key=... or sas_token=...)"}
_ANON_ADVICE = {"s3": "kit.S3Credentials(key=..., secret=...)",
                "gcs": "kit.GCSCredentials(...)",
                "azure": "kit.AzureCredentials(account=..., sas_token=...)"}
RETRY: Any = {"max_retries": 3, "retry_timeout": timedelta(seconds=60),
         "backoff": {"init_backoff": timedelta(milliseconds=100),
                     "max_backoff": timedelta(seconds=2), "base": 2}}
TIMEOUTS: dict[str, Any] = {"connect_timeout": timedelta(seconds=10),
                            "timeout": timedelta(seconds=120)}


@dataclass(frozen=True)
class Target:
    """Where a cloud URL points: the cloud, its bucket/container, the key prefix, the account."""

    cloud: str
    bucket: str
    prefix: str
    account: str | None = None

    @property
    def display(self) -> str:
        scheme = {"s3": "s3", "gcs": "gs", "azure": "az"}[self.cloud]
        return f"{scheme}://{self.bucket}/{self.prefix}".rstrip("/")


def parse_target(url: str) -> Target:
    """The ``Target`` of ``s3://``, ``gs://``, ``az://`` and ``abfs://container@account...``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLOUD_SCHEMES:
        raise KitError(f"not a cloud object-store URL (scheme {scheme!r})", where=redact(url))
    cloud = CLOUD_SCHEMES[scheme][0]
    bucket, account = parts.netloc, None
    if cloud == "azure" and "@" in bucket:  # abfs://container@account.dfs.core.windows.net
        bucket, _, host = bucket.partition("@")
        account = host.split(".", 1)[0] or None
    if parts.query or parts.fragment or not re.fullmatch(r"[a-zA-Z0-9.\-_]{1,255}", bucket):
        what = ("the URL carries no credentials: pass auth=kit.S3Credentials(...), "
                "kit.GCSCredentials(...) or kit.AzureCredentials(...)"
                if "@" in bucket or ":" in bucket or parts.query else "not a bucket name")
        raise KitError(what, where=redact(url))
    return Target(cloud, bucket, parts.path.strip("/"), account)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(endpoint: str | None, allow_http: bool, where: str) -> bool:
    """Whether the client may speak plain http to ``endpoint`` (KitError when it must not)."""
    if endpoint is None:
        return False
    scheme = urlsplit(endpoint).scheme.lower()
    if scheme not in ("http", "https"):
        raise KitError(f"endpoint_url must be an http(s) URL, got {redact(endpoint)!r}",
                       where=where)
    if scheme == "http" and not (allow_http or _loopback(endpoint)):
        raise KitError(f"the endpoint {redact(endpoint)} is plain http: requests and data would "
                       "travel unencrypted; use https, or pass allow_http=True to allow it",
                       where=where)
    return scheme == "http"


def _profile_provider() -> Any:
    """``AWS_PROFILE`` (obstore does not read ~/.aws): boto3's session chain, refreshed."""
    try:
        import boto3  # type: ignore[import-untyped]
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError:
        raise KitError("AWS_PROFILE needs boto3 to read ~/.aws: pip install boto3") from None
    return Boto3CredentialProvider(boto3.Session())


def _s3_client(target: Target, credential: S3Credentials | None, where: str) -> Any:
    from obstore.store import S3Store

    config: dict[str, Any] = {}
    provider: Any = None
    client: Any = dict(TIMEOUTS)
    c = credential or S3Credentials()
    endpoint = c.endpoint_url or first_env(*auth_env.AWS_ENDPOINT_VARIABLES)
    allow_http = (c.allow_http
                  or (first_env(auth_env.AWS_ALLOW_HTTP_VARIABLE) or "").lower() == "true")
    if _check_endpoint(endpoint, allow_http, where):
        client["allow_http"] = True
    if endpoint:
        config["endpoint"] = endpoint
    config["region"] = c.region or first_env(*auth_env.AWS_REGION_VARIABLES) or "us-east-1"
    config["virtual_hosted_style_request"] = not c.path_style
    if c.anon:
        config["skip_signature"] = True
    elif c.key is not None or c.secret is not None:
        if not (c.key and c.secret):
            raise KitError("kit.S3Credentials needs both key and secret (or anon=True)",
                           where=where)
        provider = _Provider(_given(c, "key", "secret", "token"), _s3_form, c, where)
    elif c.refresh is not None:
        provider = _Provider(c.refresh, _s3_form, c, where)
    elif first_env(auth_env.AWS_PROFILE_VARIABLE) and not first_env(auth_env.AWS_KEY_VARIABLE):
        provider = _profile_provider()
    # else: obstore's own chain (AWS_* variables, web identity, container, instance metadata)
    return S3Store(target.bucket, prefix=target.prefix or None, client_options=client,
                   retry_config=RETRY, credential_provider=provider, **config)


def _gcs_client(target: Target, credential: GCSCredentials | None, where: str) -> Any:
    from obstore.store import GCSStore

    c = credential or GCSCredentials()
    config: dict[str, Any] = {}
    client: Any = dict(TIMEOUTS)
    if _check_endpoint(c.endpoint_url, c.allow_http, where):
        client["allow_http"] = True
    if c.endpoint_url:
        config["base_url"] = c.endpoint_url.rstrip("/")
    provider: Any = None
    if c.anon:
        config["skip_signature"] = True
    elif c.token or c.refresh is not None:
        provider = _Provider(c.refresh or _given(c, "token"), _gcs_form, c, where)
    elif c.service_account_key:
        config["service_account_key"] = c.service_account_key
    elif c.service_account_file:
        config["service_account"] = c.service_account_file
    return GCSStore(target.bucket, prefix=target.prefix or None, client_options=client,
                    retry_config=RETRY, credential_provider=provider, **config)


#: Azurite's published development account and key (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
AZURITE_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"


def _azure_client(target: Target, credential: AzureCredentials | None, where: str) -> Any:
    from obstore.store import AzureStore

    c = credential or AzureCredentials()
    config: dict[str, Any] = {}
    client: Any = dict(TIMEOUTS)
    account = c.account or target.account or (AZURITE_ACCOUNT if c.emulator else None)
    endpoint = c.endpoint_url or (AZURITE_ENDPOINT if c.emulator else None)
    if account:
        config["account_name"] = account
    if _check_endpoint(endpoint, c.allow_http, where):
        client["allow_http"] = True
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    provider: Any = None
    key = c.account_key or (AZURITE_KEY if c.emulator and not c.sas_token else None)
    if c.anon:
        config["skip_signature"] = True
    elif key:
        provider = _Provider(lambda: {"access_key": key, "expires_at": c.expires_at},
                             lambda got: {"access_key": got["access_key"]}, c, where)
    elif c.sas_token or c.refresh is not None:
        provider = _Provider(c.refresh or _given(c, "sas_token"), _azure_sas_form, c, where)
    return AzureStore(target.bucket, prefix=target.prefix or None, client_options=client,
                      retry_config=RETRY, credential_provider=provider, **config)


#: A refreshing credential is renewed when the value in use is this close to its expiry.
REFRESH_MARGIN = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC)


def _given(c: Credential, *names: str) -> Callable[[], Mapping[str, Any]]:
    """The static secret fields of ``c`` (and its ``expires_at``) as a refresh would give."""
    return lambda: {**{n: getattr(c, n) for n in names}, "expires_at": c.expires_at}  # type: ignore[attr-defined]


def _s3_form(got: Mapping[str, Any]) -> dict[str, Any]:
    if not (got.get("key") and got.get("secret")):
        raise KeyError("key and secret")
    return {"access_key_id": got["key"], "secret_access_key": got["secret"],
            "token": got.get("token")}


def _gcs_form(got: Mapping[str, Any]) -> dict[str, Any]:
    if not got.get("token"):
        raise KeyError("token")
    return {"token": got["token"]}


def _azure_sas_form(got: Mapping[str, Any]) -> dict[str, Any]:
    from urllib.parse import unquote

    text = got.get("sas_token")
    if not text:
        raise KeyError("sas_token")
    return {"sas_token": [(k, unquote(v)) for k, _, v in
                          (p.partition("=") for p in str(text).lstrip("?").split("&")
                           if "=" in p)]}


class _Provider:
    """obstore's credential provider: hands over the secret (never in the client's config)
    and renews it. obstore caches what this returns until its ``expires_at`` and then calls
    again; it is told ``REFRESH_MARGIN`` before the real expiry for a refreshing credential
    (the real one for a static one), so ``fetch`` runs again before the old value dies. A
    credential past its expiry is refused here, before any request, and ``failure`` says why
    (``CloudStore`` turns it into the ``AuthenticationError``). Its repr shows no secret."""

    def __init__(self, fetch: Callable[[], Mapping[str, Any]],
                 form: Callable[[Mapping[str, Any]], dict[str, Any]], c: Credential,
                 where: str) -> None:
        self._fetch, self._form, self._where = fetch, form, where
        self._renews = getattr(c, "refresh", None) is not None
        self._kind = c.kind
        self._value: dict[str, Any] | None = None
        self._until: datetime | None = None
        self.failure: str | None = None

    def __call__(self) -> dict[str, Any]:
        now = _now()
        if self._value is None or (self._until is not None and now >= self._until):
            self._value = None
            self._renew(now)
        assert self._value is not None
        return {**self._value, "expires_at": self._until}

    def _renew(self, now: datetime) -> None:
        what = f"{self._kind}.refreshing(...)" if self._renews else self._kind
        try:
            got = self._fetch()
            value = self._form(got)
            expires = got.get("expires_at")
        except Exception as exc:  # noqa: BLE001 - the user's callable; never quote its text
            self.failure = (f"{what} could not give credentials ({type(exc).__name__}"
                            f"{' ' + str(exc) if isinstance(exc, KeyError) else ''})")
            raise RuntimeError(self.failure) from None
        if expires is not None and (not isinstance(expires, datetime) or expires.tzinfo is None):
            self.failure = f"{what} gave an expires_at that is not a timezone-aware datetime"
            raise RuntimeError(self.failure)
        if expires is not None and expires <= now:
            stamp = expires.astimezone(UTC).isoformat(timespec="seconds")
            self.failure = (f"the {self._kind} expired at {stamp}" + (
                " (the refresh callable returned an expired credential)" if self._renews else
                "; give fresh ones, or renew them with "
                f"kit.{self._kind}.refreshing(fn)"))
            raise RuntimeError(self.failure)
        renew_at = expires
        if expires is not None and self._renews and expires - REFRESH_MARGIN > now:
            renew_at = expires - REFRESH_MARGIN
        self._value, self._until, self.failure = value, renew_at, None

    def __repr__(self) -> str:
        return "<credential provider>"


_CLIENTS: dict[str, Any] = {"s3": _s3_client, "gcs": _gcs_client, "azure": _azure_client}


class CloudStore(Store):
    """A read-only zarr store over one bucket/container prefix, through obstore."""

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = False

    def __init__(self, url: str, credential: Credential | None) -> None:
        super().__init__(read_only=True)
        self.target = parse_target(url)
        self.credential = credential
        self._client: Any = None
        self.stats = RequestStats()  # calls into obstore (its own retries are not seen)
        self.client  # noqa: B018 - a bad configuration is a KitError now, not at a read

    @property
    def client(self) -> Any:
        """The obstore client, made on first use (and again after unpickling)."""
        if self._client is None:
            where = self.target.display
            try:
                self._client = _CLIENTS[self.target.cloud](self.target, self.credential, where)
            except KitError:
                raise
            except ImportError:
                raise KitError("reading s3://, gs:// and az:// needs obstore: pip install "
                               "obstore", where=where) from None
            except Exception as exc:  # noqa: BLE001 - obstore's configuration errors
                raise KitError(f"cannot configure the {self.target.cloud} client "
                               f"({type(exc).__name__}: {redact(_first_line(exc))})",
                               where=where) from None
        return self._client

    @property
    def anonymous(self) -> bool:
        return bool(getattr(self.credential, "anon", False))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None  # rebuilt where it is unpickled; the credential travels
        state["stats"] = RequestStats()  # counters belong to one process
        return state

    def __repr__(self) -> str:
        kind = self.credential.kind if self.credential else "environment"
        return f"CloudStore({self.target.display!r}, auth={kind})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CloudStore) and other.target == self.target
                and other.credential == self.credential)

    def __hash__(self) -> int:
        return hash(self.target)

    def where(self, key: str) -> str:
        return f"{self.target.display}/{key}"

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        self.stats.requests += 1
        try:
            data = await self._get(key, byte_range)
        except FileNotFoundError:
            self.stats.statuses[404] += 1
            return None
        except KitError:
            raise
        except Exception as exc:  # noqa: BLE001 - obstore's errors, mapped to the kit's
            self.stats.errors += 1
            raise self._error(exc, key) from None
        self.stats.bytes_received += len(data)
        return prototype.buffer.from_bytes(data)

    async def _get(self, key: str, byte_range: ByteRequest | None) -> Any:
        """The bytes of ``key``: one call into obstore, so one crossing of its future bridge
        per request (``get_async`` then ``bytes_async`` would be two, each a wake-up of this
        loop from obstore's runtime thread, which is most of a small GET's client CPU). A whole
        object and an open-ended offset are asked as a range to ``TO_THE_END``; every store
        clamps it to the object's size. An empty object has no such range (416), and a host
        may ignore ranges: the object is then read whole."""
        import obstore as obs

        client = self.client
        if byte_range is None or isinstance(byte_range, OffsetByteRequest):
            start = 0 if byte_range is None else byte_range.offset
            try:
                return await obs.get_range_async(client, key, start=start, end=TO_THE_END)
            except FileNotFoundError:
                raise
            except Exception as exc:  # only an unsatisfiable range is read again
                if not _unsatisfiable(exc):
                    raise
            data = await (await obs.get_async(client, key)).bytes_async()
            return memoryview(data)[start:]  # empty at or past the end of the object
        if isinstance(byte_range, RangeByteRequest):
            return await obs.get_range_async(client, key, start=byte_range.start,
                                             end=byte_range.end)
        if isinstance(byte_range, SuffixByteRequest):
            try:
                resp = await obs.get_async(client, key,
                                           options={"range": {"suffix": byte_range.suffix}})
                return await resp.bytes_async()
            except obs.exceptions.NotSupportedError:  # Azure: no suffix ranges
                size = (await obs.head_async(client, key))["size"]
                start = max(0, size - byte_range.suffix)
                return await obs.get_range_async(client, key, start=start, end=size)
        raise TypeError(f"unexpected byte range {byte_range!r}")

    def _error(self, exc: Exception, key: str) -> KitError:
        """The kit's error for an obstore failure; its text never quotes the request (a SAS
        token may sit in the URL) or the response, only the status and the error code."""
        from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

        text = str(exc)
        code = next((a or b for a, b in _CODE.findall(text)), None)
        status_match = _STATUS.search(text)
        status = int(status_match.group(1)) if status_match else None
        where = self.where(key)
        cloud = self.target.cloud
        failure = getattr(getattr(self._client, "credential_provider", None), "failure", None)
        if failure and isinstance(exc, UnauthenticatedError):
            return AuthenticationError(failure, where=where)
        if not self.anonymous and (code in BAD_CREDENTIAL_CODES or _FAILED_AUTHENTICATION in text
                                   or isinstance(exc, UnauthenticatedError)):
            return AuthenticationError(
                f"{cloud} refused the credentials ({code or status}: wrong key or secret, or an "
                f"invalid or expired token); check {_ADVICE[cloud]}", where=where)
        if isinstance(exc, (PermissionDeniedError, UnauthenticatedError)) or status in (401, 403):
            hint = (f"this {'container' if cloud == 'azure' else 'bucket'} is not public: "
                    f"give {_ANON_ADVICE[cloud]}" if self.anonymous
                    else "the credentials are valid but may not read this object")
            return PermissionDenied(f"access denied ({code or status}); {hint}", where=where)
        detail = f"{code or ''} {status or ''}".strip() or type(exc).__name__
        return RemoteError(f"read failed ({detail}): {_kind(text)}", where=where)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Any
    ) -> list[Buffer | None]:
        import asyncio

        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        import obstore as obs

        self.stats.requests += 1
        try:
            await obs.head_async(self.client, key)
        except FileNotFoundError:
            return False
        except Exception as exc:  # noqa: BLE001 - mapped as for get
            raise self._error(exc, key) from None
        return True

    async def set(self, key: str, value: Buffer) -> None:
        raise PermissionDenied("the kit opens data read-only", where=self.where(key))

    async def delete(self, key: str) -> None:
        raise PermissionDenied("the kit opens data read-only", where=self.where(key))

    def _no_listing(self) -> Any:
        raise KitError("the kit does not list cloud buckets (every member is found from "
                       "metadata)", where=self.target.display)

    def list(self) -> Any:
        return self._no_listing()

    def list_prefix(self, prefix: str) -> Any:
        return self._no_listing()

    def list_dir(self, prefix: str) -> Any:
        return self._no_listing()


#: The end of the range that asks for a whole object (or the rest of it) in one call.
TO_THE_END = 1 << 62


def _unsatisfiable(exc: BaseException) -> bool:
    """Whether the server refused a range the object cannot satisfy (416: an empty object, an
    offset past its end), or answered it with the whole object (a host that ignores ranges:
    object_store then refuses the "non-partial response")."""
    text = str(exc)
    status = _STATUS.search(text)
    return ((status is not None and status.group(1) == "416") or "<Code>InvalidRange<" in text
            or "non-partial response" in text)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""


def _kind(text: str) -> str:
    """What went wrong, without the URL or response body: obstore's first clause."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    for marker in ("Error performing", "error sending request"):
        if marker in first:
            return "connection or server error" if "non-2xx" not in first else "server error"
    return redact(first.split(":")[0])[:120] or "unknown error"


def cloud_store(url: str, auth: Credential | None) -> CloudStore:
    """The store for a cloud URL, with the credential the policy gives its bucket."""
    from kit.auth import resolve

    scope = CLOUD_SCHEMES[urlsplit(url).scheme.lower()][1]
    target = parse_target(url)  # the URL is checked before any credential is looked up
    bucket_url = target.display.split("/", 3)[0] + "//" + target.bucket  # s3://, gs://, az://
    credential = resolve(bucket_url, explicit=auth, scope=scope)
    return CloudStore(url, credential)
