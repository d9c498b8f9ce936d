"""Credentials: types, the per-origin registry, the resolution chain and URL redaction.

The bottom layer of the kit: it imports nothing from the kit but ``kit.errors``.
"""

from kit.auth.credentials import (
    BasicAuth,
    BearerToken,
    Credential,
    DandiToken,
    Headers,
    S3Credentials,
)
from kit.auth.origin import Origin, origin_of, redact_url
from kit.auth.registry import CredentialRegistry, credentials
from kit.auth.resolve import resolve_http_credential

__all__ = [
    "Origin",
    "origin_of",
    "redact_url",
    "Credential",
    "BasicAuth",
    "BearerToken",
    "Headers",
    "S3Credentials",
    "DandiToken",
    "CredentialRegistry",
    "credentials",
    "resolve_http_credential",
]
