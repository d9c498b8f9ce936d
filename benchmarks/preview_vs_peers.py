"""Preview one well image of the real plate with ngff-kit, ngio and ome-zarr-py, side by side.

Same job for every reader: open the image of one well over authenticated HTTP (the kit's
DemoServer, Basic auth, injected latency), choose the coarsest level whose larger side covers
``--max-size`` pixels, and read one z plane of every channel of it. Prints wall time, requests
and dependent round trips (from the server's log) per reader. Not part of the test run.

    python benchmarks/preview_vs_peers.py [--data PATH] [--latency 0.05] [--max-size 512]

The peers are installed once into their own virtualenv under a cache directory
(``$NGFF_KIT_BENCH_CACHE`` or ``~/.cache/ngff-kit/bench``) with ``python -m venv`` and
``pip install ngio ome-zarr``, so they never touch the kit's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"
PEERS = ("ngio", "ome-zarr")

# Runs inside the peers' venv: one job per reader, prints {"seconds": ..., "shape": ...}.
PEER_JOB = textwrap.dedent('''
    import json, sys, time
    tool, url, user, password, max_size = sys.argv[1:6]
    max_size = int(max_size)
    t0 = time.perf_counter()
    if tool == "ome-zarr":
        from ome_zarr.io import parse_url
        from ome_zarr.reader import Reader
        location = parse_url(url.replace("://", f"://{user}:{password}@", 1))
        node = next(iter(Reader(location)()))
        pyramid = node.data
        chosen = 0
        for i, level in enumerate(pyramid):
            if max(level.shape[-2:]) >= max_size:
                chosen = i
        level = pyramid[chosen]
        z = level.shape[-3] // 2 if level.ndim >= 3 else None
        plane = (level[:, z] if z is not None else level).compute()
    else:
        import base64
        from ngio import open_ome_zarr_container
        from zarr.storage import FsspecStore
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {"Authorization": "Basic " + token}
        store = FsspecStore.from_url(url, read_only=True,
                                     storage_options={"client_kwargs": {"headers": headers}})
        container = open_ome_zarr_container(store, cache=True, mode="r")
        chosen = container.level_paths[0]
        for p in container.level_paths:
            if max(container.get_image(path=p).shape[-2:]) >= max_size:
                chosen = p
        image = container.get_image(path=chosen)
        data, axes = image.get_as_dask(), list(image.axes)
        index = tuple(n // 2 if a == "z" else 0 if a == "t" else slice(None)
                      for a, n in zip(axes, data.shape))
        plane = data[index].compute()
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "shape": list(plane.shape)}))
''')


def cache_dir() -> Path:
    base = os.environ.get("NGFF_KIT_BENCH_CACHE") or Path.home() / ".cache" / "ngff-kit" / "bench"
    return Path(base)


def peers_python() -> Path:
    """The peers' venv interpreter, creating the venv and installing ngio + ome-zarr once."""
    env_dir = cache_dir() / "peers-venv"
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    marker = env_dir / ".installed"
    if not marker.exists():
        print(f"creating {env_dir} and installing {' '.join(PEERS)} (once)...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS, "aiohttp"], check=True)
        marker.write_text("ok")
    return python


def round_trips(requests, latency: float) -> int:
    """Dependent round trips: requests arriving within ``latency`` of a batch's first belong to
    it (they were sent before any of its answers could come back)."""
    count, start = 0, None
    for r in sorted(requests, key=lambda r: r.time):
        if start is None or r.time - start >= latency * 0.8:
            count, start = count + 1, r.time
    return count


def run_kit(srv, url: str, max_size: int) -> dict:
    import kit

    t0 = time.perf_counter()
    image = kit.open(url, auth=srv.credential)
    rgb = kit.preview(image, max_size=max_size)
    return {"seconds": time.perf_counter() - t0, "shape": list(rgb.shape)}


def run_peer(python: Path, tool: str, srv, url: str, max_size: int) -> dict:
    proc = subprocess.run([str(python), "-c", PEER_JOB, tool, url, srv.username, srv.password,
                           str(max_size)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="plate to serve")
    parser.add_argument("--well", default="B/03/0", help="image path inside the plate")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--max-size", type=int, default=512)
    parser.add_argument("--skip-peers", action="store_true", help="only the kit")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} does not exist (pass --data)")

    from kit.demo.server import DemoServer

    python = None if args.skip_peers else peers_python()
    rows = []
    with DemoServer(args.data, auth="basic", password="bench", latency=args.latency) as srv:
        url = srv.url + args.well
        jobs = [("ngff-kit", lambda: run_kit(srv, url, args.max_size))]
        if python is not None:
            jobs += [(tool, lambda tool=tool: run_peer(python, tool, srv, url, args.max_size))
                     for tool in PEERS]
        for name, job in jobs:
            srv.reset_log()
            result = job()
            requests = list(srv.requests)
            rows.append((name, result, len(requests), round_trips(requests, args.latency),
                         sum(1 for r in requests if r.status == 404)))
    print(f"\npreview of {args.well}, max_size={args.max_size}, latency={args.latency * 1000:.0f} ms"
          " per request, Basic auth\n")
    print(f"{'reader':<10} {'seconds':>8} {'requests':>9} {'404s':>5} {'round trips':>12}  result")
    for name, result, n, trips, missing in rows:
        shown = result.get("error") or f"shape {tuple(result['shape'])}"
        seconds = f"{result['seconds']:.2f}" if "seconds" in result else "-"
        print(f"{name:<10} {seconds:>8} {n:>9} {missing:>5} {trips:>12}  {shown}")


if __name__ == "__main__":
    main()
