"""S3 through s3fs, with refusals told apart the way a user needs.

s3fs reads an object with a HEAD first, and a HEAD's 403 carries no error code, so "wrong
secret" and "no permission" look the same. On a 403 the store asks once more with a one-byte
GET, whose XML body names the code: a bad signature or unknown key is an
``AuthenticationError``, anything else ``PermissionDenied``.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import weakref
from typing import Any
from urllib.parse import urlsplit

from zarr.storage import FsspecStore

from kit.auth import Credential, S3Credentials
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


class S3Store(FsspecStore):
    """zarr's FsspecStore over s3fs, mapping 403s to the kit's two refusal errors."""

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        try:
            return await super().get(key, prototype, byte_range)
        except PermissionError:
            raise await self._refusal(key) from None

    async def _refusal(self, key: str) -> KitError:
        bucket, _, object_key = f"{self.path}/{key}".partition("/")
        where = f"s3://{bucket}/{object_key}"
        try:
            await self.fs._call_s3("get_object", Bucket=bucket, Key=object_key, Range="bytes=0-0")
        except Exception as exc:  # noqa: BLE001 - only its text matters here
            detail = f"{exc} {exc.__cause__ or ''}"
            if any(code in detail for code in BAD_CREDENTIAL_CODES):
                return AuthenticationError(
                    "S3 refused the credentials (wrong key or secret, or an expired token); "
                    "check kit.S3Credentials(key=..., secret=...) or AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY", where=where)
        anonymous = getattr(self.fs, "anon", False)
        hint = ("this bucket is not public: give kit.S3Credentials(key=..., secret=...)"
                if anonymous else "the credentials are valid but may not read this object")
        return PermissionDenied(f"access denied; {hint}", where=where)


def s3_store(url: str, auth: Credential | None, storage_options: dict | None) -> S3Store:
    """An S3 store for ``url``: explicit credentials, else the AWS environment, else anonymous."""
    try:
        import s3fs
    except ImportError:
        raise KitError("reading s3:// needs s3fs: pip install 'ngff-kit[s3]'") from None
    if auth is not None and not isinstance(auth, S3Credentials):
        raise KitError(f"s3:// takes kit.S3Credentials, not {type(auth).__name__}")
    options = dict(storage_options or {})
    if auth is not None:
        options.update(auth.storage_options())
    elif not options and not _aws_credentials_in_env():
        options["anon"] = True
    fs = s3fs.S3FileSystem(asynchronous=True, **options)
    _filesystems.add(fs)
    parts = urlsplit(url)
    return S3Store(fs, path=f"{parts.netloc}{parts.path}".rstrip("/"), read_only=True)


def _aws_credentials_in_env() -> bool:
    return bool(os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"))
