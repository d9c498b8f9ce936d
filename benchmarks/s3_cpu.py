"""Client CPU over S3 (moto on loopback, signatures enforced): obstore against s3fs, and HTTP.

    python benchmarks/s3_cpu.py [--repeat 3] [--gets 500] [--plates 96x1 384x4]

For each plate and backend a fresh process opens the plate: ``96x1`` is the generated 96-well
plate (8x12, one 2x1x64x64 field per well, 2 levels, NGFF 0.5), ``384x4`` the 384-well plate
with 4 such fields per well of ``plates.py`` (NGFF 0.4); both written once under the bench
cache. The process first makes the overview of the local copy (imports warm), then measures its
own CPU time (every thread: the kit loop, obstore's runtime) for ``--gets`` GETs of one chunk
through the kit's store (96x1 only) and for ``kit.plate_overview`` over the remote plate, and
counts the overview's requests (the store's own counters).
``obstore`` is ``kit.open("s3://...", auth=kit.S3Credentials(...))``;
``s3fs`` is the same URL with the credential as ``storage_options`` (the s3fs path the kit keeps
for them); ``http`` is the same folder served by the kit's ``DemoServer`` (no auth). moto and
the DemoServer run in other processes, so their CPU is not counted. Best of ``--repeat``.

moto runs behind tornado's HTTP/1.1 server (``start_s3_server(keep_alive=True)``): its own
werkzeug server closes the connection after every response, so every GET would pay a TCP
connect that real S3 (and the DemoServer) never charges; ``--werkzeug`` measures that setup.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, sys, time
import kit
from kit.io.loop import run_sync
from kit.io.sources import open_location
from zarr.core.buffer import default_buffer_prototype

backend, url, local, gets, endpoint, key, secret, chunk = sys.argv[1:9]
auth = kit.S3Credentials(key=key, secret=secret, endpoint_url=endpoint) if key else None
kwargs = ({"storage_options": auth.storage_options()} if backend == "s3fs"
          else {"auth": auth} if auth else {})
kit.plate_overview(kit.open(local), progress=False)  # imports and pools warm
store = open_location(url, **kwargs).store

async def get(n):
    for _ in range(n):
        assert await store.get(chunk, default_buffer_prototype()) is not None

per_get = None
if int(gets):
    run_sync(get(10))
    cpu = time.process_time()
    run_sync(get(int(gets)))
    per_get = 1000 * (time.process_time() - cpu) / int(gets)
cpu, wall = time.process_time(), time.perf_counter()
remote = kit.open(url, **kwargs)
mosaic = kit.plate_overview(remote, progress=False)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
stats = getattr(remote.location.store.inner, "stats", None)
print(json.dumps({"cpu_per_get_ms": per_get, "overview_cpu_s": cpu, "overview_wall_s": wall,
                  "requests": stats.requests if stats is not None else None,
                  "shape": list(mosaic.shape), "store": type(store.inner).__name__}))
"""


def plate(cache: Path) -> Path:
    from kit.demo.generate import write_plate

    path = cache / "data" / "plate96-v0.5.zarr"
    done = path.with_suffix(".done")
    if not done.exists():
        write_plate(path, version="0.5", rows="ABCDEFGH",
                    columns=[f"{c:02d}" for c in range(1, 13)],
                    image_kwargs={"shape": (2, 1, 64, 64), "levels": 2, "labels": ()})
        done.write_text("ok")
    return path


def upload(s3: object, folder: Path, bucket: str, prefix: str) -> None:
    """Every file of ``folder`` to ``bucket/prefix`` through obstore, 16 at a time (boto3's
    one-by-one upload of the 13,000 files of the 384 x 4 plate takes minutes)."""
    import asyncio

    import obstore as obs
    from obstore.store import S3Store

    store = S3Store(bucket, endpoint=s3.endpoint, region="us-east-1",  # type: ignore[attr-defined]
                    access_key_id=s3.key, secret_access_key=s3.secret,  # type: ignore[attr-defined]
                    virtual_hosted_style_request=False, client_options={"allow_http": True})
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]

    async def put_all() -> None:
        limit = asyncio.Semaphore(16)

        async def put(path: Path) -> None:
            async with limit:
                key = f"{prefix}/{path.relative_to(folder).as_posix()}"
                await obs.put_async(store, key, path.read_bytes())

        await asyncio.gather(*(put(p) for p in files))

    asyncio.run(put_all())


#: plate name -> (chunk of the per-GET loop, or "" for none).
PLATES = {"96x1": "A/01/0/1/c/0/0/0/0", "384x4": ""}


def plate_folder(name: str, cache: Path) -> Path:
    if name == "96x1":
        return plate(cache)
    from plates import plate as generated

    wells, fields = (int(n) for n in name.split("x"))
    return generated(cache, wells, fields)


def measure(backend: str, url: str, local: Path, gets: int, s3: object, auth: tuple[str, str],
            chunk: str, repeat: int) -> dict[str, object] | None:
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, backend, url, str(local), str(gets if chunk else 0),
             s3.endpoint, *auth, chunk], capture_output=True, text=True,  # type: ignore[attr-defined]
            timeout=1800, check=False)
        if done.returncode:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["overview_cpu_s"])
    per_get = [r["cpu_per_get_ms"] for r in runs if r["cpu_per_get_ms"] is not None]
    return {**best, "cpu_per_get_ms": min(per_get) if per_get else None}


def main(argv: list[str] | None = None) -> int:
    from peers import cache_dir
    from s3_server import start_s3_server

    from kit.demo.server import DemoServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--plates", nargs="+", choices=tuple(PLATES), default=["96x1", "384x4"])
    parser.add_argument("--werkzeug", action="store_true",
                        help="moto's own server, which closes the connection after every "
                             "response (default: moto behind a keep-alive server, as S3 is)")
    parser.add_argument("--backends", nargs="+", choices=("obstore", "s3fs", "http"),
                        default=["obstore", "s3fs", "http"])
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, dict[str, object]]] = []
    s3 = start_s3_server("bench", keep_alive=not args.werkzeug)
    try:
        for name in args.plates:
            local = plate_folder(name, cache_dir())
            prefix = f"plate{name}.zarr"
            if {"obstore", "s3fs"} & set(args.backends):
                upload(s3, local, "bench", prefix)
            with DemoServer(local) as http:
                targets = {"obstore": (f"s3://bench/{prefix}", (s3.key, s3.secret)),
                           "s3fs": (f"s3://bench/{prefix}", (s3.key, s3.secret)),
                           "http": (http.url, ("", ""))}
                for backend in args.backends:
                    url, auth = targets[backend]
                    row = measure(backend, url, local, args.gets, s3, auth, PLATES[name],
                                  args.repeat)
                    if row is None:
                        return 1
                    rows.append((name, backend, row))
    finally:
        s3.stop()
    print(f"{'plate':<6} {'backend':<8} {'CPU/GET ms':>10} {'overview CPU s':>15} "
          f"{'overview wall s':>16} {'requests':>9} {'CPU / http':>10}")
    http_cpu = {name: row["overview_cpu_s"] for name, backend, row in rows if backend == "http"}
    for name, backend, row in rows:
        per_get = row["cpu_per_get_ms"]
        ratio = (f"{row['overview_cpu_s'] / http_cpu[name]:.2f}x"  # type: ignore[operator]
                 if name in http_cpu else "-")
        print(f"{name:<6} {backend:<8} "
              f"{'-' if per_get is None else f'{per_get:.2f}':>10} "
              f"{row['overview_cpu_s']:>15.2f} {row['overview_wall_s']:>16.2f} "
              f"{row['requests'] if row['requests'] is not None else '-':>9} {ratio:>10}")
    print(json.dumps({f"{n}/{b}": r for n, b, r in rows}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
