"""A DANDI-like archive on loopback, for tests and the offline DANDI notebook: an API origin
that answers asset downloads with redirects to presigned, expiring URLs on a second, S3-like
origin. Real aiohttp servers, no mocks.

API (``api_url`` = ``http://127.0.0.1:<p1>/api``):
    GET/HEAD /api/assets/<id>/download/  -> 302 to a presigned URL on the S3 origin
    tokens: ``Authorization: token <key>``; an embargoed asset answers 401 without a token,
    403 with a wrong one (any asset answers 403 to a wrong token).
S3 (``http://127.0.0.1:<p2>``):
    GET /blobs/<id>?X-Amz-Date=..&X-Amz-Expires=..&X-Amz-Signature=<hmac>
    checks the HMAC over path + date + expires, answers 403 AccessDenied "Request has expired"
    after the lifetime (or for URLs signed before ``revoke()``), 400 if an Authorization header
    comes along (as S3 does for a second auth mechanism), serves Range requests.
Every request is logged with whether it carried an Authorization header.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlencode

from aiohttp import web

EXPIRED_XML = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
               "<Message>Request has expired</Message><X-Amz-Expires>{expires}</X-Amz-Expires>"
               "</Error>")


@dataclass
class Hit:
    origin: str  # "api" or "s3"
    method: str
    path: str
    status: int
    authorization: str | None  # the scheme of the Authorization header sent ("token", ...)
    range: str | None
    valid_token: bool = False  # whether that header carried this archive's token


class DandiArchive:
    """Two servers on one background loop; use as a context manager."""

    def __init__(self, *, token: str = "good-key", lifetime: int = 3,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.lifetime = lifetime
        self.clock = clock  # signing and expiry time (tests share a fake one with the kit)
        self.blobs: dict[str, bytes] = {}
        self.embargoed: set[str] = set()
        self.hits: list[Hit] = []
        self._secret = secrets.token_bytes(16)
        self._revoked_before = 0.0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []
        self.api_port = self.s3_port = 0

    # -- setup
    def add_asset(self, asset_id: str, data: bytes, *, embargoed: bool = False) -> str:
        """Store ``data`` and return the asset's stable API URL."""
        self.blobs[asset_id] = data
        if embargoed:
            self.embargoed.add(asset_id)
        return f"{self.api_url}/assets/{asset_id}/download/"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def revoke(self) -> None:
        """Make every URL signed so far expire now (as if S3 saw them as old)."""
        time.sleep(1.05)  # X-Amz-Date has one-second resolution
        self._revoked_before = self.clock()

    # -- the log
    def count(self, origin: str, *, path_contains: str = "", status: int | None = None) -> int:
        with self._lock:
            return sum(1 for h in self.hits if h.origin == origin and path_contains in h.path
                       and (status is None or h.status == status))

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()

    def _log(self, origin: str, request: web.Request, status: int) -> None:
        with self._lock:
            header = request.headers.get("Authorization")
            self.hits.append(Hit(origin, request.method, request.path, status,
                                 header.split(" ", 1)[0] if header else None,
                                 request.headers.get("Range"),
                                 hmac.compare_digest(header or "", f"token {self.token}")))

    # -- signing
    def _sign(self, path: str, date: str, expires: str) -> str:
        return hmac.new(self._secret, f"{path}\n{date}\n{expires}".encode(),
                        hashlib.sha256).hexdigest()

    def presign(self, asset_id: str) -> str:
        path = f"/blobs/{asset_id}"
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        expires = str(self.lifetime)
        query = urlencode({
            "response-content-disposition": f"attachment; filename={asset_id}",
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKIDEXAMPLE/20260101/us-east-2/s3/aws4_request",
            "X-Amz-Date": date, "X-Amz-Expires": expires, "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._sign(path, date, expires),
        })
        return f"{self.s3_url}{path}?{query}"

    # -- handlers
    async def _api(self, request: web.Request) -> web.Response:
        response = self._api_response(request)
        self._log("api", request, response.status)
        return response

    def _api_response(self, request: web.Request) -> web.Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "assets"] or parts[3] != "download":
            return web.Response(status=404, text="not found")
        asset_id = parts[2]
        if asset_id not in self.blobs:
            return web.Response(status=404, text="no such asset")
        given = request.headers.get("Authorization")
        if given is not None and not hmac.compare_digest(given, f"token {self.token}"):
            return web.json_response({"detail": "Invalid token."}, status=403)
        if asset_id in self.embargoed and given is None:
            return web.json_response({"detail": "Authentication credentials were not provided."},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        return web.Response(status=302, headers={"Location": self.presign(asset_id)})

    async def _s3(self, request: web.Request) -> web.Response:
        response = self._s3_response(request)
        self._log("s3", request, response.status)
        return response

    def _s3_response(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            return web.Response(status=400, text="<Error><Code>InvalidArgument</Code><Message>"
                                "Only one auth mechanism allowed</Message></Error>")
        q = request.query
        date, expires, sig = q.get("X-Amz-Date", ""), q.get("X-Amz-Expires", ""), \
            q.get("X-Amz-Signature", "")
        if not hmac.compare_digest(sig, self._sign(request.path, date, expires)):
            return web.Response(status=403,
                                text="<Error><Code>SignatureDoesNotMatch</Code></Error>")
        try:
            issued = calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            return web.Response(status=403, text="<Error><Code>AccessDenied</Code></Error>")
        if self.clock() > issued + int(expires) or issued < self._revoked_before - 1:
            return web.Response(status=403, text=EXPIRED_XML.format(expires=expires),
                                content_type="application/xml")
        data = self.blobs.get(request.path.rsplit("/", 1)[-1])
        if data is None:
            return web.Response(status=404)
        header = request.headers.get("Range")
        if header and header.startswith("bytes="):
            first, _, last = header[6:].partition("-")
            start = int(first)
            end = min(int(last) + 1, len(data)) if last else len(data)
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            return web.Response(status=206, body=data[start:end], headers={
                "Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})
        return web.Response(body=data)

    # -- life cycle
    async def _start(self) -> None:
        for handler, attr in ((self._api, "api_port"), (self._s3, "s3_port")):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            setattr(self, attr, runner.addresses[0][1])
            self._runners.append(runner)

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
