"""Helpers of the relay tests (no tests here): the class's and the upstream's credentials, a
relay started the one way every test starts one (``start_relay``; its fixtures are in
``relay_fixtures.py``), raw HTTP requests as a student sends them, and a TCP proxy that records
every byte a student receives."""

from __future__ import annotations

import asyncio
import base64
import http.client
import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

UP_PASSWORD = "upstream-Secret-42"
UP_TOKEN = "upstream-bearer-token-9876"
CLASS = ("class", "class-pw-77")
TOKENS = {"alice": "alice-token-1111", "bob": "bob-token-22222"}


def start_relay(url: str, credential: Any = None, *, students: Any = None,
                log: io.StringIO | None = None, cache: Path | str | None = None,
                secrets: Iterable[str] | None = None, **kwargs: Any) -> Any:
    """A started ``Relay`` in front of ``url`` (read with ``credential``, through the
    persistent cache in ``cache`` when given), for the class password unless ``students``
    says otherwise; its access log goes to ``log``, its own log nowhere, and the secrets it
    scrubs are the credential's unless ``secrets`` are given."""
    from kit.relay import ClassPassword, Relay
    from kit.relay.accesslog import AccessLog
    from kit.relay.upstream import credential_secrets, open_upstream

    upstream = open_upstream(url, credential, cache=None if cache is None else str(cache))
    return Relay(upstream, students=students or ClassPassword(*CLASS),
                 access_log=AccessLog(log if log is not None else io.StringIO()),
                 log=lambda text: None,
                 secrets=credential_secrets(credential) if secrets is None else list(secrets),
                 **kwargs).start()


def dandi_refs_document(folder: Path, archive: Any) -> Path:
    """A small image stored as embargoed assets of ``archive`` (a DandiArchive; one asset per
    level) and the LINDI refs document in ``folder`` that names their download URLs."""
    import json

    from kit.demo.generate import write_image
    from kit.demo.refs import folder_refs

    image = write_image(folder / "img.zarr", version="0.4", axes="cyx", shape=(2, 64, 64),
                        chunks=(1, 16, 16), levels=2, labels=())
    refs, blobs = folder_refs(image, lambda name: f"{archive.api_url}/assets/{name}/download/",
                              lambda k: "level-" + k.split("/")[0])
    for name, data in blobs.items():
        archive.add_asset(name, data, embargoed=True)
    document = folder / "img.lindi.json"
    document.write_text(json.dumps(refs))
    return document


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def request(url: str, path: str, headers: Mapping[str, str] | None = None,
            method: str = "GET") -> Answer:
    """One request with ``path`` sent exactly as written (no normalisation)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


class RecordingProxy:
    """127.0.0.1:port forwarding to ``target`` and keeping every byte sent back to clients."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.received = bytearray()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    record: bool) -> None:
        try:
            while data := await reader.read(65536):
                if record:
                    self.received.extend(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer, False),
                             self._pipe(up_reader, writer, True))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for writer in self._writers:
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
