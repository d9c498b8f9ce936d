"""Client CPU over S3 (moto on loopback, signatures enforced): obstore against s3fs, and HTTP.

    python benchmarks/s3_cpu.py [--repeat 3] [--gets 500]

For each backend a fresh process opens the generated 96-well plate (8x12, one 2x1x64x64 field
per well, 2 levels; written once under the bench cache): it first makes the overview of the
local copy (imports warm), then measures its own CPU time (every thread: the kit loop, obstore's
runtime) for ``--gets`` GETs of one chunk through the kit's store and for ``kit.plate_overview``
over the remote plate. ``obstore`` is ``kit.open("s3://...", auth=kit.S3Credentials(...))``;
``s3fs`` is the same URL with the credential as ``storage_options`` (the s3fs path the kit keeps
for them); ``http`` is the same folder served by the kit's ``DemoServer`` (no auth). moto and
the DemoServer run in other processes, so their CPU is not counted. Best of ``--repeat``.
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

backend, url, local, gets, endpoint, key, secret = sys.argv[1:8]
auth = kit.S3Credentials(key=key, secret=secret, endpoint_url=endpoint) if key else None
kwargs = ({"storage_options": auth.storage_options()} if backend == "s3fs"
          else {"auth": auth} if auth else {})
kit.plate_overview(kit.open(local), progress=False)  # imports and pools warm
store = open_location(url, **kwargs).store
chunk = "A/01/0/1/c/0/0/0/0"

async def get(n):
    for _ in range(n):
        assert await store.get(chunk, default_buffer_prototype()) is not None

run_sync(get(10))
cpu = time.process_time()
run_sync(get(int(gets)))
per_get = (time.process_time() - cpu) / int(gets)
cpu, wall = time.process_time(), time.perf_counter()
mosaic = kit.plate_overview(kit.open(url, **kwargs), progress=False)
print(json.dumps({"cpu_per_get_ms": 1000 * per_get, "overview_cpu_s": time.process_time() - cpu,
                  "overview_wall_s": time.perf_counter() - wall, "shape": list(mosaic.shape),
                  "store": type(store.inner).__name__}))
"""


def plate(cache: Path) -> Path:
    from kit.demo.generate import write_plate

    path = cache / "data" / "plate96-v0.5.zarr"
    done = path.with_suffix(".done")
    if not done.exists():
        write_plate(path, version="0.5", rows="ABCDEFGH", columns=[f"{c:02d}" for c in range(1, 13)],
                    image_kwargs={"shape": (2, 1, 64, 64), "levels": 2, "labels": ()})
        done.write_text("ok")
    return path


def main(argv: list[str] | None = None) -> int:
    from peers import cache_dir
    from s3_server import start_s3_server

    from kit.demo.server import DemoServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--backends", nargs="+", choices=("obstore", "s3fs", "http"),
                        default=["obstore", "s3fs", "http"])
    args = parser.parse_args(argv)
    local = plate(cache_dir())
    s3 = start_s3_server("bench")
    http = DemoServer(local).start()
    try:
        s3.upload_folder(local, "bench", "plate.zarr")
        targets = {"obstore": ("s3://bench/plate.zarr", s3.key, s3.secret),
                   "s3fs": ("s3://bench/plate.zarr", s3.key, s3.secret),
                   "http": (http.url, "", "")}
        rows = {}
        for backend, (url, key, secret) in targets.items():
            if backend not in args.backends:
                continue
            runs = []
            for _ in range(args.repeat):
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, backend, url, str(local), str(args.gets),
                     s3.endpoint, key, secret], capture_output=True, text=True, timeout=900,
                    check=False)
                if done.returncode:
                    print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                    return 1
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            rows[backend] = {k: min(r[k] for r in runs) for k in
                             ("cpu_per_get_ms", "overview_cpu_s", "overview_wall_s")}
    finally:
        s3.stop()
        http.stop()
    print(f"{'backend':<8} {'CPU/GET ms':>10} {'overview CPU s':>15} {'overview wall s':>16}")
    for backend, row in rows.items():
        print(f"{backend:<8} {row['cpu_per_get_ms']:>10.2f} {row['overview_cpu_s']:>15.2f} "
              f"{row['overview_wall_s']:>16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
