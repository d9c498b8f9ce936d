"""Credential types.

A credential is a small frozen value. It pickles with its secret (dask workers must be able to
read), but its ``repr``/``str`` show only the kind and the non-secret parts, so it can sit in a
notebook cell output, a log line or an exception message without leaking.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from kit.auth.env import DANDI_KEY_VARIABLES, dandi_key
from kit.auth.origin import Origin, origin_of

__all__ = [
    "DANDI_INSTANCES",
    "AzureCredentials",
    "BasicAuth",
    "BearerToken",
    "Credential",
    "DandiToken",
    "GCSCredentials",
    "Headers",
    "S3Credentials",
]

HIDDEN = "<hidden>"


class _Hidden:
    """Stands for a secret in a repr."""

    def __repr__(self) -> str:
        return HIDDEN


def _check_header_value(text: str, what: str) -> None:
    # Never echo the value: it is (part of) a secret.
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str")
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"{what} must not contain line breaks or NUL characters")


@dataclass(frozen=True, repr=False)
class Credential:
    """Base of all credentials. Subclasses mark secret fields with ``metadata={"secret": True}``."""

    kind: ClassVar[str] = "Credential"

    def _public_parts(self) -> list[tuple[str, Any]]:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value is not None:
                value = _Hidden()
            parts.append((f.name, value))
        return parts

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self._public_parts())
        return f"{type(self).__name__}({inner})"

    __str__ = __repr__

    def http_headers(self) -> dict[str, str]:
        """Headers to send with a request to the credential's origin."""
        raise TypeError(f"{type(self).__name__} is not an HTTP credential")


def _secret(**kw: Any) -> Any:
    return field(metadata={"secret": True}, **kw)


#: What a ``refresh`` callable returns: the credential's secret fields by their kit names and
#: ``expires_at`` (a timezone-aware datetime, or None for "never").
Refresh = Callable[[], Mapping[str, Any]]


def _check_expiring(c: Any, secrets: tuple[str, ...]) -> None:
    """Shared checks of ``expires_at`` and ``refresh`` (never echoing a secret)."""
    name = type(c).__name__
    if c.expires_at is not None and (not isinstance(c.expires_at, datetime)
                                     or c.expires_at.tzinfo is None):
        raise ValueError(f"{name} expires_at must be a timezone-aware datetime, e.g. "
                         "datetime.now(timezone.utc) + timedelta(hours=1)")
    if c.refresh is not None:
        if not callable(c.refresh):
            raise TypeError(f"{name} refresh must be a callable returning the fresh credential")
        given = [s for s in secrets if getattr(c, s) is not None]
        if given or c.anon or c.expires_at is not None:
            raise ValueError(f"{name}.refreshing(...) takes its {', '.join(secrets)} and "
                             "expires_at from the callable, not as arguments (nor anon)")


@dataclass(frozen=True, repr=False)
class BasicAuth(Credential):
    """HTTP Basic authentication (RFC 7617)."""

    kind: ClassVar[str] = "BasicAuth"
    username: str
    password: str = _secret()

    def __post_init__(self) -> None:
        _check_header_value(self.username, "BasicAuth username")
        _check_header_value(self.password, "BasicAuth password")
        if ":" in self.username:
            raise ValueError("BasicAuth username must not contain ':'")

    def http_headers(self) -> dict[str, str]:
        raw = f"{self.username}:{self.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


@dataclass(frozen=True, repr=False)
class BearerToken(Credential):
    """An OAuth2-style bearer token (``Authorization: Bearer <token>``)."""

    kind: ClassVar[str] = "BearerToken"
    token: str = _secret()

    def __post_init__(self) -> None:
        _check_header_value(self.token, "BearerToken token")
        if not self.token:
            raise ValueError("BearerToken token must not be empty")

    def http_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class _HeaderItems(tuple):
    """Header (name, value) pairs whose repr hides the values."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{name!r}: {HIDDEN}" for name, _ in self) + "}"


@dataclass(frozen=True, repr=False, init=False)
class Headers(Credential):
    """Arbitrary request headers (API keys, cookies); every value is treated as secret."""

    kind: ClassVar[str] = "Headers"
    headers: tuple[tuple[str, str], ...]

    def __init__(self, mapping: Mapping[str, str]) -> None:
        items = []
        for name, value in dict(mapping).items():
            _check_header_value(name, "header name")
            if not name or any(c in name for c in " :"):
                raise ValueError(f"invalid header name {name!r}")
            _check_header_value(value, f"value of header {name!r}")
            items.append((name, value))
        object.__setattr__(self, "headers", _HeaderItems(items))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self.headers),))

    def _public_parts(self) -> list[tuple[str, Any]]:
        return [("headers", _HeaderItems(self.headers))]

    def __repr__(self) -> str:
        return f"Headers({_HeaderItems(self.headers)!r})"

    __str__ = __repr__

    def http_headers(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True, repr=False)
class S3Credentials(Credential):
    """Credentials for S3 and S3-compatible stores (MinIO, Ceph, the EBI embassy host).

    Without ``key``/``secret`` (and not ``anon``) the AWS chain applies: the environment's
    variables, ``AWS_PROFILE``, role/container credentials. ``endpoint_url`` names an
    S3-compatible host; ``path_style`` (the default) addresses ``endpoint/bucket/key``, False
    ``bucket.endpoint/key``. A plain-http endpoint is refused unless ``allow_http=True`` or it
    is on loopback: signed requests and the data would travel in clear.

    Temporary credentials: ``expires_at`` (timezone-aware) marks a static session token's end;
    after it a read is an ``AuthenticationError`` naming the bucket and the time, before any
    request. ``S3Credentials.refreshing(fn, ...)`` renews instead: ``fn()`` returns
    ``{"key", "secret", "token", "expires_at"}`` (an STS AssumeRole, a lab's token service)
    and is called again when the value in use is within 5 minutes of its expiry.
    """

    kind: ClassVar[str] = "S3Credentials"
    key: str | None = _secret(default=None)
    secret: str | None = _secret(default=None)
    token: str | None = _secret(default=None)
    endpoint_url: str | None = None
    anon: bool = False
    region: str | None = None
    allow_http: bool = False
    path_style: bool = True
    expires_at: datetime | None = None
    refresh: Refresh | None = field(default=None, metadata={"secret": True})

    def __post_init__(self) -> None:
        _check_expiring(self, ("key", "secret", "token"))

    @classmethod
    def refreshing(cls, refresh: Refresh, **options: Any) -> S3Credentials:
        """Credentials renewed by ``refresh()`` (see the class docstring); ``options`` are the
        non-secret fields (``endpoint_url``, ``region``, ``allow_http``, ``path_style``)."""
        return cls(refresh=refresh, **options)

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``s3fs.S3FileSystem`` (which cannot renew: refused for a
        refreshing credential)."""
        if self.refresh is not None:
            raise TypeError("S3Credentials.refreshing(...) renews through obstore (s3:// "
                            "without storage_options); s3fs takes only fixed credentials")
        opts: dict[str, Any] = {}
        if self.anon:
            opts["anon"] = True
        else:
            for name in ("key", "secret", "token"):
                if getattr(self, name) is not None:
                    opts[name] = getattr(self, name)
        if self.endpoint_url is not None:
            opts["endpoint_url"] = self.endpoint_url
        if self.region is not None:
            opts["client_kwargs"] = {"region_name": self.region}
        return opts


@dataclass(frozen=True, repr=False)
class GCSCredentials(Credential):
    """Credentials for Google Cloud Storage.

    One of: ``service_account_file`` (a key file's path), ``service_account_key`` (its JSON
    text), ``token`` (an OAuth bearer token, not refreshed), ``anon=True`` (public buckets);
    with none of them, application-default credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
    gcloud's ADC file, the metadata server). ``endpoint_url`` points at an emulator or a
    GCS-compatible host (plain http only with ``allow_http=True`` or on loopback).
    A ``token`` may carry ``expires_at``; ``GCSCredentials.refreshing(fn)`` renews it from
    ``fn()`` returning ``{"token", "expires_at"}`` (as ``S3Credentials.refreshing``).
    """

    kind: ClassVar[str] = "GCSCredentials"
    service_account_file: str | None = None
    service_account_key: str | None = _secret(default=None)
    token: str | None = _secret(default=None)
    anon: bool = False
    endpoint_url: str | None = None
    allow_http: bool = False
    expires_at: datetime | None = None
    refresh: Refresh | None = field(default=None, metadata={"secret": True})

    def __post_init__(self) -> None:
        _check_expiring(self, ("service_account_file", "service_account_key", "token"))

    @classmethod
    def refreshing(cls, refresh: Refresh, **options: Any) -> GCSCredentials:
        """A bearer token renewed by ``refresh()``; ``options``: ``endpoint_url``,
        ``allow_http``."""
        return cls(refresh=refresh, **options)


@dataclass(frozen=True, repr=False)
class AzureCredentials(Credential):
    """Credentials for Azure Blob Storage (``az://container/...``, ``abfs://``).

    ``account`` is the storage account (else taken from an ``abfs://container@account...``
    URL or ``AZURE_STORAGE_ACCOUNT_NAME``). One of: ``account_key``, ``sas_token`` (the query
    string of a SAS URL, with or without its ``?``), ``anon=True`` (public containers); with
    none, the Azure environment chain (``AZURE_STORAGE_*`` variables, managed identity,
    the Azure CLI). ``emulator=True`` targets Azurite (its well-known dev account when no key
    is given); ``endpoint_url`` any other host (plain http only with ``allow_http=True`` or on
    loopback). A ``sas_token`` may carry ``expires_at``; ``AzureCredentials.refreshing(fn,
    account=...)`` renews it from ``fn()`` returning ``{"sas_token", "expires_at"}``.
    """

    kind: ClassVar[str] = "AzureCredentials"
    account: str | None = None
    account_key: str | None = _secret(default=None)
    sas_token: str | None = _secret(default=None)
    anon: bool = False
    endpoint_url: str | None = None
    allow_http: bool = False
    emulator: bool = False
    expires_at: datetime | None = None
    refresh: Refresh | None = field(default=None, metadata={"secret": True})

    def __post_init__(self) -> None:
        _check_expiring(self, ("account_key", "sas_token"))

    @classmethod
    def refreshing(cls, refresh: Refresh, **options: Any) -> AzureCredentials:
        """A SAS token renewed by ``refresh()``; ``options``: ``account``, ``endpoint_url``,
        ``allow_http``, ``emulator``."""
        return cls(refresh=refresh, **options)


#: Known DANDI instances: name -> (API base URL, env variables for the token, in order).
DANDI_INSTANCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "dandi": ("https://api.dandiarchive.org/api", DANDI_KEY_VARIABLES["dandi"]),
    "sandbox": ("https://api.sandbox.dandiarchive.org/api", DANDI_KEY_VARIABLES["sandbox"]),
}


def _dandi_instance(instance: str) -> str:
    """A known instance name, or a validated API base URL ending in ``/api``."""
    instance = instance.strip()
    if instance.lower() in DANDI_INSTANCES:
        return instance.lower()
    if "://" not in instance:
        known = ", ".join(repr(n) for n in DANDI_INSTANCES)
        raise ValueError(
            f"unknown DANDI instance {instance!r}: use {known} or an API URL ending in /api")
    instance = instance.rstrip("/")
    if not instance.endswith("/api"):
        raise ValueError(
            f"DANDI instance URL must be the API base ending in /api, got {instance!r}")
    origin_of(instance)  # validates scheme and host
    for name, (url, _) in DANDI_INSTANCES.items():
        if url == instance:
            return name
    return instance


@dataclass(frozen=True, repr=False, init=False)
class DandiToken(Credential):
    """A DANDI API key for one instance (a known name or a base API URL ending in ``/api``).

    Without a key, a known instance reads its env variable when the key is used (``dandi``:
    DANDI_API_KEY; ``sandbox``: DANDI_SANDBOX_API_KEY, then the legacy DANDI_STAGING_API_KEY),
    so a token made before the variable was set, or unpickled in a worker, sees it. A custom API
    URL never falls back to those variables: a key is only ever sent to its own archive.
    """

    kind: ClassVar[str] = "DandiToken"
    given: str | None = _secret(default=None)  # the explicit key; None reads the environment
    instance: str = "dandi"

    def __init__(self, token: str | None = None, instance: str = "dandi") -> None:
        if token is not None:
            _check_header_value(token, "DandiToken token")
        object.__setattr__(self, "given", token or None)
        object.__setattr__(self, "instance", _dandi_instance(instance))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.given, self.instance))

    @property
    def token(self) -> str | None:
        """The key: the one given, else (known instances) the environment's, read now."""
        if self.given is not None:
            return self.given
        key = dandi_key(self.instance) if self.instance in DANDI_INSTANCES else None
        if key is not None:
            _check_header_value(key, "DandiToken token")
        return key

    def _public_parts(self) -> list[tuple[str, Any]]:
        return [("token", _Hidden() if self.token else None), ("instance", self.instance)]

    @property
    def api_url(self) -> str:
        """Base URL of the instance's REST API (ends in ``/api``, no trailing slash)."""
        if self.instance in DANDI_INSTANCES:
            return DANDI_INSTANCES[self.instance][0]
        return self.instance

    @property
    def origin(self) -> Origin:
        """The only origin the token is sent to."""
        return origin_of(self.api_url)

    def http_headers(self) -> dict[str, str]:
        """``Authorization: token <key>``, or nothing for anonymous access."""
        token = self.token
        return {"Authorization": f"token {token}"} if token else {}
