"""Credentials: types, the per-origin registry, the one credential policy and redaction.

The bottom layer of the kit: it imports nothing from the kit but ``kit.errors``.
``resolve(url, explicit=..., scope=...)`` decides what every request gets; ``redact`` is the
only form in which a URL (or a text quoting one) is shown; ``kit.auth.env`` names every
environment variable the kit reads.
"""

from kit.auth.credentials import (
    AzureCredentials,
    BasicAuth,
    BearerToken,
    Credential,
    DandiToken,
    GCSCredentials,
    Headers,
    S3Credentials,
)
from kit.auth.origin import Origin, origin_of
from kit.auth.redact import redact
from kit.auth.registry import CredentialRegistry, credentials
from kit.auth.resolve import Scope, resolve

__all__ = [
    "AzureCredentials",
    "BasicAuth",
    "BearerToken",
    "Credential",
    "CredentialRegistry",
    "DandiToken",
    "GCSCredentials",
    "Headers",
    "Origin",
    "S3Credentials",
    "Scope",
    "credentials",
    "origin_of",
    "redact",
    "resolve",
]
