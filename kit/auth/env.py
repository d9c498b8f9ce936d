"""What the machine supplies: every environment variable name the kit reads, and netrc.

The names are declared here and nowhere else (the CLI, messages and tests import them). Values
are read when a request is decided, never at import or when a credential object is made, so a
variable set after ``import kit`` (or in a dask worker) counts.

``NGFF_KIT_TOKEN`` / ``NGFF_KIT_USERNAME`` + ``NGFF_KIT_PASSWORD`` are bound to the origins
(or URL prefixes) listed in ``NGFF_KIT_ORIGINS``; without that list they are sent nowhere.
"""

from __future__ import annotations

import logging
import netrc
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kit.auth.origin import Origin, origin_of
from kit.auth.redact import redact
from kit.errors import KitError

__all__ = [
    "AWS_ALLOW_HTTP_VARIABLE",
    "AWS_ENDPOINT_VARIABLES",
    "AWS_KEY_VARIABLE",
    "AWS_PROFILE_VARIABLE",
    "AWS_REGION_VARIABLES",
    "AWS_VARIABLES",
    "AZURE_VARIABLES",
    "CREDENTIAL_VARIABLES",
    "DANDI_ENV_ADVICE",
    "DANDI_KEY_VARIABLES",
    "ENV_ADVICE",
    "ENV_CACHE",
    "ENV_DEMO_PASSWORD",
    "ENV_NETRC",
    "ENV_OFFLINE",
    "ENV_ORIGINS",
    "ENV_PASSWORD",
    "ENV_TOKEN",
    "ENV_USERNAME",
    "GCS_VARIABLES",
    "OriginPrefix",
    "aws_chain_configured",
    "azure_chain_configured",
    "bound_prefixes",
    "dandi_key",
    "env_basic",
    "env_token",
    "first_env",
    "gcs_chain_configured",
    "is_bound",
    "netrc_entry",
]

log = logging.getLogger("kit.auth")

ENV_TOKEN = "NGFF_KIT_TOKEN"  # a bearer token
ENV_USERNAME = "NGFF_KIT_USERNAME"  # HTTP Basic, with ENV_PASSWORD
ENV_PASSWORD = "NGFF_KIT_PASSWORD"
ENV_ORIGINS = "NGFF_KIT_ORIGINS"  # where the three above may be sent: origins or URL prefixes
ENV_NETRC = "NETRC"  # the netrc file (default ~/.netrc)
ENV_DEMO_PASSWORD = "NGFF_KIT_DEMO_PASSWORD"  # the password `ngff-kit demo/serve` uses
ENV_CACHE = "NGFF_KIT_CACHE"  # a folder: kit.open keeps documents and chunks there
ENV_OFFLINE = "NGFF_KIT_OFFLINE"  # 1: read only from the cache (kit.cache.offline())
#: DANDI API keys of the known instances, in the order they are tried.
DANDI_KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "dandi": ("DANDI_API_KEY",),
    "sandbox": ("DANDI_SANDBOX_API_KEY", "DANDI_STAGING_API_KEY"),
}
#: Variables that mean "the AWS credential chain is configured here" (else S3 is anonymous):
#: keys, a profile, web identity (EKS/IRSA) and container (ECS) role credentials.
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
#: Where the AWS chain finds an S3 endpoint, a region, a profile, and leave to use plain http.
AWS_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
AWS_REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
AWS_PROFILE_VARIABLE = "AWS_PROFILE"
AWS_KEY_VARIABLE = "AWS_ACCESS_KEY_ID"
AWS_ALLOW_HTTP_VARIABLE = "AWS_ALLOW_HTTP"
#: The same for Google Cloud Storage (also gcloud's application-default credentials file).
GCS_VARIABLES = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT",
                 "GOOGLE_SERVICE_ACCOUNT_PATH", "GOOGLE_SERVICE_ACCOUNT_KEY")
#: The same for Azure Blob Storage.
AZURE_VARIABLES = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_KEY",
                   "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
#: Every variable that can supply or scope a credential (tests clear them).
CREDENTIAL_VARIABLES = (ENV_TOKEN, ENV_USERNAME, ENV_PASSWORD, ENV_ORIGINS,
                        *(v for names in DANDI_KEY_VARIABLES.values() for v in names))

#: One sentence for messages that tell a user how to give credentials through the environment.
ENV_ADVICE = (f"set {ENV_TOKEN} (or {ENV_USERNAME} and {ENV_PASSWORD}) and name the server in "
              f"{ENV_ORIGINS} (e.g. {ENV_ORIGINS}=https://data.example.org)")
#: The same for a DANDI API key (the first variable of each known instance).
DANDI_ENV_ADVICE = (f"set {DANDI_KEY_VARIABLES['dandi'][0]} "
                    f"({DANDI_KEY_VARIABLES['sandbox'][0]} for the sandbox)")


def env_token() -> str | None:
    """``NGFF_KIT_TOKEN``, if set and not empty."""
    return os.environ.get(ENV_TOKEN) or None


def env_basic() -> tuple[str, str] | None:
    """(username, password) from the environment, if both are set."""
    user, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
    return (user, password) if user and password is not None else None


@dataclass(frozen=True)
class OriginPrefix:
    """An ``NGFF_KIT_ORIGINS`` entry: an origin, optionally narrowed to a path prefix."""

    origin: Origin
    path: str = "/"

    def matches(self, url: str) -> bool:
        try:
            if origin_of(url) != self.origin:
                return False
        except KitError:
            return False
        if self.path == "/":
            return True
        path = urlsplit(url).path or "/"
        base = self.path.rstrip("/")
        return path == base or path.startswith(base + "/")


def _parse_prefix(entry: str) -> OriginPrefix:
    text = entry if "://" in entry else "https://" + entry  # plain http must be named
    bad = KitError(f"{ENV_ORIGINS} entry {redact(entry)!r} is not an http(s) origin or URL "
                   "prefix (e.g. https://data.example.org or http://127.0.0.1:8000/data)")
    try:
        parts = urlsplit(text)
        origin = origin_of(text)
    except (KitError, ValueError):
        raise bad from None
    if (origin.scheme not in ("http", "https") or "@" in parts.netloc
            or parts.query or parts.fragment):
        raise bad
    return OriginPrefix(origin, parts.path or "/")


def bound_prefixes() -> tuple[OriginPrefix, ...]:
    """The parsed ``NGFF_KIT_ORIGINS`` (comma- or space-separated); KitError on a bad entry."""
    raw = os.environ.get(ENV_ORIGINS, "")
    return tuple(_parse_prefix(e) for e in raw.replace(",", " ").split())


_warned_unbound = False


def is_bound(url: str) -> bool:
    """Whether the environment's credential may go to ``url`` (it is under NGFF_KIT_ORIGINS)."""
    global _warned_unbound
    prefixes = bound_prefixes()
    if not prefixes and not _warned_unbound:
        _warned_unbound = True
        log.warning("%s is set but %s is not, so the environment's credential is sent nowhere; "
                    "name the servers it belongs to in %s", ENV_TOKEN if env_token() else
                    ENV_USERNAME, ENV_ORIGINS, ENV_ORIGINS)
    return any(p.matches(url) for p in prefixes)


def dandi_key(instance: str) -> str | None:
    """The API key of a known DANDI instance from its variables, read now."""
    for var in DANDI_KEY_VARIABLES.get(instance, ()):
        if os.environ.get(var):
            return os.environ[var]
    return None


def aws_chain_configured() -> bool:
    """Whether the environment configures AWS credentials (botocore's chain then decides)."""
    return any(os.environ.get(v) for v in AWS_VARIABLES)


def first_env(*names: str) -> str | None:
    """The value of the first of ``names`` that is set and not empty, read now."""
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def _gcloud_adc_file() -> Path | None:
    config = os.environ.get("CLOUDSDK_CONFIG")
    try:
        base = Path(config) if config else Path.home() / ".config" / "gcloud"
    except RuntimeError:  # no home directory
        return None
    return base / "application_default_credentials.json"


def gcs_chain_configured() -> bool:
    """Whether the environment configures GCS credentials (else gs:// reads are anonymous)."""
    if any(os.environ.get(v) for v in GCS_VARIABLES):
        return True
    adc = _gcloud_adc_file()
    return adc is not None and adc.is_file()


def azure_chain_configured() -> bool:
    """Whether the environment configures Azure credentials (else az:// reads are anonymous)."""
    return any(os.environ.get(v) for v in AZURE_VARIABLES)


def _netrc_path() -> Path | None:
    env = os.environ.get(ENV_NETRC)
    if env:
        return Path(env).expanduser()
    try:
        return Path.home() / ".netrc"
    except RuntimeError:  # no home directory
        return None


def netrc_entry(host: str) -> tuple[str, str] | None:
    """(login, password) of netrc's ``machine <host>`` entry; the ``default`` entry never counts."""
    path = _netrc_path()
    if path is None or not path.is_file():
        return None
    try:
        entries = netrc.netrc(os.fspath(path)).hosts
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError):
        return None  # an unreadable netrc is no credential (the error text may quote it)
    entry = entries.get(host)
    if entry is None or not entry[2]:
        return None
    return entry[0] or "", entry[2]
