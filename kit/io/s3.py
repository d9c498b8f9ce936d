"""S3 through s3fs (the kit's path for s3:// with ``storage_options``; obstore reads the rest),
with refusals told apart the way a user needs, and no secret in its logs.

s3fs reads an object with a HEAD first, and a HEAD's 403 or 400 carries no error code, so
"wrong secret", "expired session token" and "no permission" look the same. On a 403 (or a 400)
the store asks once more with a one-byte GET, whose XML body names the code: a bad signature,
an unknown key or an invalid/expired token is an ``AuthenticationError``, any other 403
``PermissionDenied``.

botocore logs every request's headers (the session token among them) and its canonical
request at DEBUG; a filter on the botocore, aiobotocore and s3fs loggers replaces the secrets
the kit handed to s3fs (and the ``X-Amz-Security-Token`` header anywhere) before any handler
sees the record.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import weakref
from typing import Any
from urllib.parse import urlsplit

from zarr.storage import FsspecStore

from kit.auth import Credential, S3Credentials, Scope, resolve
from kit.errors import AuthenticationError, KitError, PermissionDenied
from kit.io.loop import running_kit_loop

BAD_CREDENTIAL_CODES = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken",
                        "InvalidToken", "TokenRefreshRequired")


# s3fs closes no session of an asynchronous instance; these live on the kit loop, closed at exit
_filesystems: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_sessions() -> None:
    loop = running_kit_loop()
    clients = [c for c in (getattr(fs, "_s3creator", None) for fs in list(_filesystems)) if c]
    if loop is None or not clients:
        return
    for client in clients:
        try:
            asyncio.run_coroutine_threadsafe(client.__aexit__(None, None, None), loop).result(2)
        except Exception:  # noqa: BLE001 - interpreter shutdown: best effort
            pass


# --- no secret in botocore's, aiobotocore's or s3fs's log records ----------------------------

_LOGGERS = ("botocore", "aiobotocore", "s3fs")
_SECRET_HEADER = re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,}&]+)")
_secrets: set[str] = set()  # values the kit handed to s3fs (key, secret, session token)


def _scrub(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _SECRET_HEADER.sub(r"\1***", text)


class SecretLogFilter(logging.Filter):
    """Rewrites a record whose text holds an S3 secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's business
            return True
        clean = _scrub(text)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_filter = SecretLogFilter()


def guard_logs(options: dict[str, Any]) -> None:
    """Remember ``options``' secrets and put the filter on every botocore/aiobotocore/s3fs logger.

    A logger's filter sees only records logged to it (not its children's), so every existing
    logger under those names gets it; called per store, it also covers loggers made since.
    """
    for name in ("key", "secret", "token"):
        if isinstance(options.get(name), str) and len(options[name]) >= 4:
            _secrets.add(options[name])
    for var in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        if len(os.environ.get(var, "")) >= 4:
            _secrets.add(os.environ[var])
    names = [n for n in list(logging.root.manager.loggerDict)
             if n.split(".", 1)[0] in _LOGGERS] + list(_LOGGERS)
    for name in names:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)


def _bad_credential(exc: BaseException) -> bool:
    detail = f"{exc} {exc.__cause__ or ''}"
    return any(code in detail for code in BAD_CREDENTIAL_CODES)


def _bad_request(exc: BaseException) -> bool:
    """A 400 without a code (a HEAD's): worth a GET to learn whether the token is bad."""
    cause = exc.__cause__
    status = getattr(cause, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 400 or "Bad Request" in f"{exc} {cause or ''}"


class S3Store(FsspecStore):
    """zarr's FsspecStore over s3fs, mapping refusals to the kit's typed errors."""

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        try:
            return await super().get(key, prototype, byte_range)
        except PermissionError:
            raise await self._refusal(key) from None
        except (FileNotFoundError, KitError):
            raise
        except Exception as exc:
            if _bad_credential(exc):
                raise self._refused_credentials(key) from None
            if _bad_request(exc):
                refusal = await self._refusal(key)
                if isinstance(refusal, AuthenticationError):
                    raise refusal from None
            raise

    def _where(self, key: str) -> tuple[str, str, str]:
        bucket, _, object_key = f"{self.path}/{key}".partition("/")
        return bucket, object_key, f"s3://{bucket}/{object_key}"

    def _refused_credentials(self, key: str) -> AuthenticationError:
        return AuthenticationError(
            "S3 refused the credentials (wrong key or secret, or an invalid or expired session "
            "token); check kit.S3Credentials(key=..., secret=..., token=...) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN", where=self._where(key)[2])

    async def _refusal(self, key: str) -> KitError:
        bucket, object_key, where = self._where(key)
        try:
            await self.fs._call_s3("get_object", Bucket=bucket, Key=object_key, Range="bytes=0-0")
        except Exception as exc:  # noqa: BLE001 - only its text matters here
            if _bad_credential(exc):
                return self._refused_credentials(key)
        anonymous = getattr(self.fs, "anon", False)
        hint = ("this bucket is not public: give kit.S3Credentials(key=..., secret=...)"
                if anonymous else "the credentials are valid but may not read this object")
        return PermissionDenied(f"access denied; {hint}", where=where)


def s3_store(url: str, auth: Credential | None, storage_options: dict | None) -> S3Store:
    """An S3 store for ``url``: explicit credentials, else ``storage_options`` as given, else
    the policy's answer (the AWS environment's chain, else anonymous)."""
    try:
        import s3fs
    except ImportError:
        raise KitError("reading s3:// needs s3fs: pip install 'ngff-kit[s3]'") from None
    options = dict(storage_options or {})
    if auth is not None or not options:
        credential = resolve(url, explicit=auth, scope=Scope.S3)
        if isinstance(credential, S3Credentials):
            options.update(credential.storage_options())
    guard_logs(options)
    fs = s3fs.S3FileSystem(asynchronous=True, **options)
    _filesystems.add(fs)
    parts = urlsplit(url)
    return S3Store(fs, path=f"{parts.netloc}{parts.path}".rstrip("/"), read_only=True)

