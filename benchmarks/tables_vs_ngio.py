"""Requests to read every table of one well image over authenticated HTTP: the kit vs ngio.

    python benchmarks/tables_vs_ngio.py [--data ../shared/data] [--image B/03/0] [--latency 0.05]

Both read the same image from the same DemoServer (Bearer auth, no directory listing, added
latency); the server's log counts the requests. ngio runs in its own venv (it pins
pandas<3 through anndata), created once under ``--cache`` with ``python -m venv`` + pip.
Each reader first opens the image; then the log is reset and every table is read into pandas,
so "tables" counts only the table reads and "total" includes the open.
A script, not a test: it needs network access for the first pip install.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import kit
from kit.demo.server import DemoServer

REPO = Path(__file__).resolve().parents[1]
PLATE = "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"

# Runs in ngio's venv. Prints "opened", waits for a line on stdin, reads every table.
NGIO_READER = r"""
import os, sys, time, warnings
warnings.simplefilter("ignore")
from zarr.storage import FsspecStore
import ngio
headers = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}
store = FsspecStore.from_url(sys.argv[1], read_only=True,
                             storage_options={"client_kwargs": {"headers": headers}})
container = ngio.open_ome_zarr_container(store, mode="r")
print("opened", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
shapes = {name: container.get_table(name).dataframe.shape for name in container.list_tables()}
print("done", time.perf_counter() - t0, shapes, flush=True)
"""


def ngio_python(cache: Path) -> Path:
    """ngio's venv, created on first use."""
    venv = cache / "ngio-venv"
    python = venv / "bin" / "python"
    if not python.exists() or subprocess.run([python, "-c", "import ngio"]).returncode != 0:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "ngio", "fsspec[http]"], check=True)
    return python


def bench_kit(srv: DemoServer, url: str) -> tuple[int, int, float]:
    srv.reset_log()
    image = kit.open(url, auth=srv.credential)
    opened = srv.count()
    srv.reset_log()
    t0 = time.perf_counter()
    for table in image.tables.values():
        table.to_pandas()
    return srv.count(), srv.count() + opened, time.perf_counter() - t0


def bench_ngio(srv: DemoServer, url: str, python: Path) -> tuple[int, int, float]:
    env = {**os.environ, "BENCH_TOKEN": srv.token or ""}
    srv.reset_log()
    proc = subprocess.Popen([python, "-c", NGIO_READER, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if line.strip() != "opened":
        proc.kill()
        raise SystemExit(f"ngio could not open {url}: {line!r}")
    opened = srv.count()
    srv.reset_log()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    done = proc.stdout.readline().split()
    proc.wait(timeout=600)
    if not done or done[0] != "done":
        raise SystemExit("ngio failed to read the tables")
    return srv.count(), srv.count() + opened, float(done[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--plate", default=PLATE)
    parser.add_argument("--image", default="B/03/0")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "ngff-kit-bench")
    args = parser.parse_args()

    python = ngio_python(args.cache)
    with DemoServer(args.data, auth="bearer", latency=args.latency) as srv:
        url = f"{srv.url}{args.plate}/{args.image}"
        results = {"ngff-kit": bench_kit(srv, url), "ngio": bench_ngio(srv, url, python)}
    print(f"all tables of {args.plate}/{args.image}, Bearer auth, {args.latency * 1000:.0f} ms/request")
    print(f"{'reader':10} {'tables':>7} {'open+tables':>12} {'table time':>11}")
    for name, (tables, total, seconds) in results.items():
        print(f"{name:10} {tables:7d} {total:12d} {seconds:10.2f}s")


if __name__ == "__main__":
    main()
