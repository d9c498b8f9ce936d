"""The credential policy: which credential (if any) one request gets, decided here only.

``resolve(url, explicit=..., scope=...)`` answers for every kind of request the kit makes:

``Scope.ROOT`` and ``Scope.REFS_DOCUMENT`` (the URL ``kit.open`` was given, a refs document),
first match wins:

1. ``explicit``: the ``auth=`` argument of the call;
2. userinfo written in the URL itself (``https://user:password@host/``), that host's own;
3. the session registry (``kit.credentials``, filled by ``kit.login()`` or ``register``),
   exact origin match;
4. environment variables, only for a URL under an origin or prefix named in
   ``NGFF_KIT_ORIGINS``: ``NGFF_KIT_TOKEN`` (bearer), else ``NGFF_KIT_USERNAME`` with
   ``NGFF_KIT_PASSWORD`` (Basic). Without ``NGFF_KIT_ORIGINS`` they are sent nowhere;
5. the netrc file: a ``machine <host>`` entry (the catch-all ``default`` entry never counts).

Steps 2-5 are for http(s) only. ``Scope.REFS_TARGET`` (a byte range a refs document points
at): the document's credential (``explicit``) on the document's own origin (``document``);
elsewhere only userinfo in the target URL or an exact registration that is not a DANDI key;
never env or netrc, which a refs file could otherwise aim at any host. ``Scope.DANDI_API``:
a ``DandiToken`` for the instance whose API base ``url`` is under (given, else registered for
it, else its env key). ``Scope.S3``, ``Scope.GCS``, ``Scope.AZURE`` (a bucket or container):
the given ``S3Credentials``/``GCSCredentials``/``AzureCredentials``, else the one registered
for the bucket (``kit.credentials.register("s3://bucket", ...)``), else None when the cloud's
own chain is configured in the environment (the client library decides), else anonymous.

Whatever is found is bound by the caller to the origin of ``url`` and to nothing else: no
credential follows a redirect or a reference to another origin.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from urllib.parse import unquote, urlsplit

from kit.auth.credentials import (
    AzureCredentials,
    BasicAuth,
    BearerToken,
    Credential,
    DandiToken,
    GCSCredentials,
    S3Credentials,
)
from kit.auth.env import (
    aws_chain_configured,
    azure_chain_configured,
    env_basic,
    env_token,
    gcs_chain_configured,
    is_bound,
    netrc_entry,
)
from kit.auth.origin import Origin, origin_of
from kit.auth.registry import CredentialRegistry, credentials
from kit.errors import KitError

__all__ = ["Scope", "resolve", "userinfo_credential"]


class Scope(Enum):
    """The kinds of request the kit makes; each has its own rule in ``resolve``."""

    ROOT = "opened root"
    REFS_DOCUMENT = "refs document"
    REFS_TARGET = "refs target"
    DANDI_API = "DANDI API"
    S3 = "S3"
    GCS = "GCS"
    AZURE = "Azure"


def userinfo_credential(url: str) -> BasicAuth | None:
    """``user:password@`` written in ``url`` as a ``BasicAuth`` (None without, or if unusable)."""
    try:
        parts = urlsplit(url.strip())
        if parts.username is None:
            return None
        return BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    except (TypeError, ValueError):  # messages of the credential types never echo values
        return None


def _from_env(url: str) -> Credential | None:
    token, basic = env_token(), env_basic()
    if token is None and basic is None:
        return None
    if not is_bound(url):
        return None
    return BearerToken(token) if token else BasicAuth(*basic)  # type: ignore[misc]


def _from_netrc(host: str) -> Credential | None:
    entry = netrc_entry(host)
    if entry is None:
        return None
    try:
        return BasicAuth(*entry)
    except (TypeError, ValueError):
        return None


def _http_origin(url: str) -> Origin | None:
    try:
        origin = origin_of(url)
    except KitError:
        return None
    return origin if origin.scheme in ("http", "https") else None


def _chain(
    url: str, explicit: Credential | None, registry: CredentialRegistry
) -> Credential | None:
    if explicit is not None:
        return explicit
    origin = _http_origin(url)
    found = (userinfo_credential(url) if origin else None) or registry.lookup(url)
    if found is not None or origin is None:
        return found
    return _from_env(url) or _from_netrc(origin.host)


def _refs_target(url: str, explicit: Credential | None, document: str | Origin | None,
                 registry: CredentialRegistry) -> Credential | None:
    try:
        origin = origin_of(url)
    except KitError:
        return None
    if document is not None and origin == origin_of(document):
        return explicit or userinfo_credential(url)
    registered = registry.lookup(url)
    if isinstance(registered, DandiToken):
        registered = None
    return registered or userinfo_credential(url)


def _under(url: str, base: str) -> bool:
    return url == base or url.startswith(base.rstrip("/") + "/")


def _dandi(
    url: str, explicit: Credential | None, registry: CredentialRegistry
) -> DandiToken | None:
    if explicit is not None and not isinstance(explicit, DandiToken):
        raise TypeError(f"a DANDI API takes kit.DandiToken, not {type(explicit).__name__}")
    if explicit is not None and explicit.token and _under(url, explicit.api_url):
        return explicit
    registered = registry.lookup(url)
    if isinstance(registered, DandiToken) and registered.token and _under(url, registered.api_url):
        return registered
    for name in ("dandi", "sandbox"):
        known = DandiToken(None, instance=name)
        if _under(url, known.api_url):
            return known if known.token else None
    return None


#: Per cloud scope: the credential type it takes, whether its own chain is configured, its URL.
_CLOUDS: dict[Scope, tuple[type[Credential], Callable[[], bool], str]] = {
    Scope.S3: (S3Credentials, aws_chain_configured, "s3://"),
    Scope.GCS: (GCSCredentials, gcs_chain_configured, "gs://"),
    Scope.AZURE: (AzureCredentials, azure_chain_configured, "az:// and abfs://"),
}


def _cloud(url: str, scope: Scope, explicit: Credential | None,
           registry: CredentialRegistry) -> Credential | None:
    kind, configured, what = _CLOUDS[scope]
    if explicit is not None:
        if not isinstance(explicit, kind):
            raise KitError(f"{what} takes kit.{kind.__name__}, not {type(explicit).__name__}")
        return explicit
    registered = registry.lookup(url)
    if isinstance(registered, kind):
        return registered
    return None if configured() else kind(anon=True)  # type: ignore[call-arg]


def resolve(
    url: str,
    *,
    explicit: Credential | None = None,
    scope: Scope = Scope.ROOT,
    document: str | Origin | None = None,
    registry: CredentialRegistry = credentials,
) -> Credential | None:
    """The credential a request to ``url`` in ``scope`` gets, by the rules above, or None.

    ``document`` is the refs document's URL or origin (``Scope.REFS_TARGET`` only).
    """
    if explicit is not None and not isinstance(explicit, Credential):
        raise TypeError(f"auth= must be a kit credential, got {type(explicit).__name__}")
    if scope in (Scope.ROOT, Scope.REFS_DOCUMENT):
        return _chain(url, explicit, registry)
    if scope is Scope.REFS_TARGET:
        return _refs_target(url, explicit, document, registry)
    if scope is Scope.DANDI_API:
        return _dandi(url, explicit, registry)
    if scope in _CLOUDS:
        return _cloud(url, scope, explicit, registry)
    raise TypeError(f"scope must be a kit.auth.Scope, not {scope!r}")

