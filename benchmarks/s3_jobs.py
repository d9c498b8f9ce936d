"""The `overview`, `images` and `tables` jobs over S3 (moto on loopback): the kit on obstore
against ngio on s3fs, with requests and client CPU per request.

    python benchmarks/s3_jobs.py [--repeat 3] [--jobs overview images tables]

The same job functions and protocol as ``run.py`` (``jobs_kit.py`` in this venv,
``jobs_peers.py`` in the peers' venv, see ``peers.py``), on the same data: the generated 96-well
plate (``images``, ``overview``) and one well image of the real plate (``tables``), uploaded to
a moto server that enforces signatures and keeps connections alive (as S3 does; see
``s3_server.KEEP_ALIVE_LAUNCHER``). Both readers get the same access key: the kit as
``kit.S3Credentials``, ngio as s3fs ``storage_options``. A counting pass-through in this process
sits between the readers and moto, so requests are the server's count (retries included) and
its CPU is not the reader's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from peers import cache_dir, peers_python, versions  # noqa: E402
from run import REAL, REAL_IMAGE, Run, plate96, run_remote  # noqa: E402
from s3_cpu import upload  # noqa: E402

JOBS = ("images", "overview", "tables")
READERS = ("ngff-kit", "ngio")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server",
              "date"}


@dataclass
class Record:
    status: int
    time: float


class CountingProxy:
    """A pass-through to ``upstream`` that logs every request (``run.py``'s server protocol:
    ``requests``, ``reset_log``, ``latency``, ``url``). Headers go through unchanged, the
    ``Host`` included, so the readers' signatures still verify at moto."""

    latency = 0.0

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[Record] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None

    def reset_log(self) -> None:
        self.requests = []

    def start(self) -> CountingProxy:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(30)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _run(self) -> None:
        from aiohttp import ClientSession, TCPConnector, web
        from yarl import URL

        async def handle(request: web.Request) -> web.StreamResponse:
            session = self._session
            body = await request.read()
            url = URL(self.upstream + request.raw_path, encoded=True)  # as signed
            async with session.request(request.method, url,
                                       headers=request.headers, data=body or None,
                                       allow_redirects=False) as up:
                data = await up.read()
                self.requests.append(Record(up.status, time.monotonic()))
                headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                if request.method == "HEAD" and "Content-Length" in up.headers:
                    headers["Content-Length"] = up.headers["Content-Length"]  # the object's
                    return web.Response(status=up.status, headers=headers)
                return web.Response(status=up.status, body=data, headers=headers)

        async def serve() -> None:
            self._session = ClientSession(connector=TCPConnector(limit=64), auto_decompress=False,
                                    skip_auto_headers=("User-Agent", "Accept-Encoding"))
            app = web.Application(client_max_size=1 << 30)
            app.router.add_route("*", "/{tail:.*}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()

        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(serve())
        self._loop.run_forever()


def table(runs: list[Run]) -> str:
    lines = ["| job | reader | wall s | requests | client CPU s | client CPU ms / request |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        if r.error:
            lines.append(f"| {r.job} | {r.reader} | failed: {r.error[:80]} ||||")
            continue
        per = (1000 * r.cpu_client / r.requests) if r.cpu_client and r.requests else None
        lines.append(f"| {r.job} | {r.reader} | {r.seconds:.2f} | {r.requests} | "
                     f"{r.cpu_client:.2f} | {'-' if per is None else f'{per:.2f}'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from s3_server import start_s3_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    parser.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (best by wall)")
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data",
                        help="folder holding the real plate (tables)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    cache = cache_dir()
    real = args.data / REAL / REAL_IMAGE
    jobs = [j for j in args.jobs if j != "tables" or real.exists()]
    if len(jobs) < len(args.jobs):
        print(f"skipping tables: the real plate {real} is absent", file=sys.stderr)
    plate = plate96(cache, "0.4")
    pythons = {"ngff-kit": Path(sys.executable)}
    if "ngio" in args.readers:
        pythons["ngio"] = peers_python(cache)
    s3 = start_s3_server("bench", keep_alive=True)
    proxy = CountingProxy(s3.endpoint).start()
    runs: list[Run] = []
    try:
        if {"images", "overview"} & set(jobs):
            upload(s3, plate, "bench", "plate.zarr")
        if "tables" in jobs:
            upload(s3, real, "bench", "real.zarr/" + REAL_IMAGE)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": s3.key, "AWS_SECRET_ACCESS_KEY": s3.secret,
               "AWS_ENDPOINT_URL": proxy.url, "AWS_DEFAULT_REGION": "us-east-1",
               "BENCH_NGFF": "0.4", "PYTHONWARNINGS": "ignore"}
        for job in jobs:
            remote, local = (("s3://bench/real.zarr/" + REAL_IMAGE, real) if job == "tables"
                             else ("s3://bench/plate.zarr", plate))
            for reader in args.readers:
                run = run_remote(job, reader, proxy, remote, str(local), pythons[reader],
                                 args.repeat, env, args.timeout)
                runs.append(run)
                print(f"{job:9} {reader:9} {run.seconds or float('nan'):7.2f} s "
                      f"{run.requests or 0:5d} req  CPU {run.cpu_client or float('nan'):.2f} s"
                      f"{'  ERROR ' + run.error if run.error else ''}", file=sys.stderr,
                      flush=True)
    finally:
        proxy.stop()
        s3.stop()
    peer = versions(pythons["ngio"]) if "ngio" in pythons else {}
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, peers {peer or '-'}")
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
