"""ngff-kit against ngio and ome-zarr-py: the same jobs, the same authenticated server.

    python benchmarks/run.py                       # every job, latencies 0, 20 and 50 ms
    python benchmarks/run.py --latency 0.05 --jobs overview images --repeat 3
    python benchmarks/run.py --readers ngff-kit    # no peers venv needed

Every remote job runs in a fresh process per reader (``jobs_kit.py`` in this venv,
``jobs_peers.py`` in the peers' cached venv, see ``peers.py``) against a loopback ``DemoServer``
with Basic auth and the given latency added to every request. A job process first runs its job
on the local copy (imports and thread pools warm, nothing remote cached), then once against the
server; the wall time is measured inside the process around that remote run only, and the
request count comes from the server's log. Jobs:

    preview   open one well image of the real plate, preview it at 512 px
    images    open a generated 96-well plate (8x12, 2x1x64x64, 2 levels) and list every image
    overview  one low-resolution thumbnail per well of that plate (kit.plate_overview)
    tables    read every table of one well image of the real plate into pandas
    decode    read a whole ~400 MB level locally: kit ``Image.read`` (and ``to_dask().compute()``)
              vs zarr alone

Generated data is written once under the cache (default ~/.cache/ngff-kit-bench/data).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import cache_dir, peers_python, versions  # noqa: E402

REPO = HERE.parent
REAL = "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"
REAL_IMAGE = "B/03/0"
READERS = ("ngff-kit", "ngio", "ome-zarr-py")
REMOTE_JOBS = ("preview", "images", "overview", "tables")
JOBS = REMOTE_JOBS + ("decode",)
DECODE_REPEAT = 7  # at least: a 411 MB read's time swings 0.23-1.2 s on this shared VM
# Dependent round trips a job cannot avoid (the kit's chain): the limit is chain x latency.
CHAIN = {"preview": 3, "images": 3, "overview": 5}
# Targets at the highest latency: x the chain limit, and speed-up over the best peer.
LIMIT_FACTOR = {"preview": 1.5, "images": 2.0, "overview": 2.0}
PEER_FACTOR = {"images": 5.0, "overview": 5.0}
# Which readers can do which job (ome-zarr-py reads no tables).
SUPPORTED = {"ngff-kit": REMOTE_JOBS, "ngio": REMOTE_JOBS,
             "ome-zarr-py": ("preview", "images", "overview")}


@dataclass
class Run:
    job: str
    reader: str
    latency: float
    seconds: float | None = None
    requests: int | None = None
    not_found: int | None = None
    waves: int | None = None
    cpu_client: float | None = None
    cpu_server: float | None = None
    rss_mb: float | None = None  # the reader's peak resident memory (VmHWM)
    error: str | None = None
    summary: dict = field(default_factory=dict)
    runs: list[float] = field(default_factory=list)


# -- data ---------------------------------------------------------------------------------------
def plate96(cache: Path, version: str) -> Path:
    """The generated 8x12 plate (written once; a marker file says it is complete)."""
    from kit.demo.generate import write_plate

    path = cache / "data" / f"plate96-v{version}.zarr"
    done = path.with_suffix(".done")
    if not done.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        print(f"writing {path} ...", file=sys.stderr, flush=True)
        write_plate(path, version=version, rows="ABCDEFGH",
                    columns=[f"{c:02d}" for c in range(1, 13)],
                    image_kwargs={"shape": (2, 1, 64, 64), "levels": 2, "labels": ()})
        done.write_text("ok")
    return path


def decode_image(cache: Path) -> Path:
    """A one-level NGFF 0.4 image of 4x1x7168x7168 uint16 (411 MB), blosc-lz4 1024^2 chunks."""
    import numpy as np
    import zarr

    path = cache / "data" / "decode-v0.4.zarr"
    done = path.with_suffix(".done")
    if done.exists():
        return path
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    print(f"writing {path} (411 MB) ...", file=sys.stderr, flush=True)
    shape, chunks = (4, 1, 7168, 7168), (1, 1, 1024, 1024)
    group = zarr.open_group(path, mode="w", zarr_format=2)
    from numcodecs import Blosc

    arr = group.create_array("0", shape=shape, chunks=chunks, dtype="uint16",
                             compressors=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
                             chunk_key_encoding={"name": "v2", "separator": "/"})
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1024, 0:1024]
    base = (1000 + 800 * np.sin(yy / 37.0) * np.cos(xx / 53.0)).astype(np.uint16)
    for c in range(shape[0]):
        for y in range(0, shape[2], 1024):
            for x in range(0, shape[3], 1024):
                noise = rng.integers(0, 200, (1024, 1024), dtype=np.uint16)
                arr[c, 0, y:y + 1024, x:x + 1024] = base + noise
    axes = [{"name": "c", "type": "channel"}] + [
        {"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "name": "decode", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 1]}]}]}]
    done.write_text("ok")
    return path


# -- one remote run ------------------------------------------------------------------------------
def waves(times: list[float], latency: float) -> int | None:
    """Dependent round trips seen by the server: a request starting >= one latency after the
    first request of the current wave opens a new wave (only meaningful with latency > 0)."""
    if not times or latency <= 0:
        return None
    count, start = 1, None
    for t in sorted(times):
        if start is None:
            start = t
        elif t - start >= latency * 0.9:
            count, start = count + 1, t
    return count


def run_once(srv, python: Path, script: Path, reader: str, job: str, remote: str,
             local: str, env: dict, timeout: float) -> Run:
    out = Run(job, reader, srv.latency)
    proc = subprocess.Popen([str(python), str(script), f"{reader}.{job}", remote, local],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=HERE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        first = proc.stdout.readline()
        if first.strip() == "ready":
            srv.reset_log()
            cpu0 = time.process_time()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        else:
            line, cpu0 = first, None
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out.error = f"timed out after {timeout:.0f} s"
        return out
    if cpu0 is not None:
        out.cpu_server = time.process_time() - cpu0  # this process only serves meanwhile
    if not line.startswith("result "):
        out.error = "no result: " + (proc.stderr.read() if proc.stderr else "")[-500:]
        return out
    payload = json.loads(line[len("result "):])
    out.error = payload.get("error")
    out.seconds = payload.get("seconds")
    out.cpu_client = payload.get("cpu")
    out.rss_mb = payload.get("rss_mb")
    out.summary = payload.get("summary") or {}
    records = list(srv.requests)
    out.requests = len(records)
    out.not_found = sum(1 for r in records if r.status == 404)
    out.waves = waves([r.time for r in records], srv.latency)
    if out.error is None and any(r.status == 401 for r in records):
        out.error = "401 from the server (credentials lost)"
    return out


def run_remote(job: str, reader: str, srv, remote: str, local: str, python: Path,
               repeat: int, env: dict, timeout: float) -> Run:
    script = HERE / ("jobs_kit.py" if reader == "ngff-kit" else "jobs_peers.py")
    best: Run | None = None
    times = []
    for _ in range(repeat):
        r = run_once(srv, python, script, reader, job, remote, local, env, timeout)
        if r.error is not None:
            return r
        times.append(r.seconds)
        if best is None or r.seconds < best.seconds:
            best = r
        if r.seconds > 20:  # slow peers: one run says enough
            break
    assert best is not None
    best.runs = times
    best.seconds = min(times)  # best of N: the machine is shared, load only adds time
    return best


# -- local decode ---------------------------------------------------------------------------------
def run_decode(path: Path, repeat: int) -> list[Run]:
    """Readers take turns within each repeat (in a rotating order), so a busy moment of the
    machine or a cold first allocation hits them all alike."""
    import zarr

    import kit

    readers = {
        "ngff-kit": lambda: kit.open(path).read(0),
        "ngff-kit to_dask": lambda: kit.open(path).to_dask(0).compute(),
        "zarr-python": lambda: zarr.open_array(path / "0", mode="r")[...],
    }
    times: dict[str, list[float]] = {name: [] for name in readers}
    names = list(readers)
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:  # no reader always first
            read = readers[name]
            gc.collect()
            t0 = time.perf_counter()
            data = read()
            times[name].append(time.perf_counter() - t0)
            assert data.shape == (4, 1, 7168, 7168)
            del data
    results = []
    for name, runs in times.items():
        run = Run("decode", name, 0.0, seconds=min(runs), runs=runs)
        run.summary = {"MB/s": round(411.0 / run.seconds)}
        results.append(run)
    return results


# -- report -----------------------------------------------------------------------------------
def ratio_to_best_peer(runs: list[Run], run: Run) -> float | None:
    peers = [r.seconds for r in runs if r.job == run.job and r.latency == run.latency
             and r.reader not in ("ngff-kit",) and r.seconds is not None and r.error is None]
    if run.seconds is None or not peers or run.error is not None:
        return None
    return min(peers) / run.seconds


def verdict(runs: list[Run], run: Run, top_latency: float) -> str:
    if run.reader != "ngff-kit" or run.latency != top_latency or run.error:
        return ""
    notes = []
    if run.job in CHAIN and run.latency > 0:
        limit = CHAIN[run.job] * run.latency
        ok = run.seconds <= LIMIT_FACTOR[run.job] * limit
        notes.append(f"{run.seconds / limit:.1f}x limit {'met' if ok else 'MISSED'} "
                     f"(<= {LIMIT_FACTOR[run.job]}x)")
    if run.job in PEER_FACTOR:
        speedup = ratio_to_best_peer(runs, run)
        if speedup is not None:
            ok = speedup >= PEER_FACTOR[run.job]
            notes.append(f"{'met' if ok else 'MISSED'} (>= {PEER_FACTOR[run.job]:.0f}x peer)")
    return "; ".join(notes)


def table(runs: list[Run]) -> str:
    top = max((r.latency for r in runs), default=0.0)
    lines = ["| job | latency | reader | wall s | requests (404) | waves | client CPU s | "
             "best peer / kit | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if r.job == "decode":
            continue
        speed = ratio_to_best_peer(runs, r) if r.reader == "ngff-kit" else None
        wall = f"{r.seconds:.2f}" if r.seconds is not None else "-"
        if r.error:
            wall = f"failed: {r.error[:60]}"
        lines.append(
            f"| {r.job} | {r.latency * 1000:.0f} ms | {r.reader} | {wall} | "
            f"{r.requests if r.requests is not None else '-'} ({r.not_found or 0}) | "
            f"{r.waves or '-'} | "
            f"{f'{r.cpu_client:.2f}' if r.cpu_client is not None else '-'} | "
            f"{f'{speed:.1f}x' if speed else ''} | {verdict(runs, r, top)} |")
    decode = [r for r in runs if r.job == "decode"]
    if decode:
        zarr_alone = next(r.seconds for r in decode if r.reader == "zarr-python")
        lines += ["", "| decode (local, 411 MB uint16, blosc-lz4) | wall s | MB/s | vs zarr alone |",
                  "|---|---|---|---|"]
        for r in decode:
            rel = r.seconds / zarr_alone
            target = "" if r.reader != "ngff-kit" else (
                " met (<= 1.10)" if rel <= 1.10 else " MISSED (<= 1.10)")
            lines.append(f"| {r.reader} | {r.seconds:.2f} | {r.summary['MB/s']} | "
                         f"{rel:.2f}{target} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.02, 0.05],
                        help="seconds added by the server to every request")
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    parser.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (the best is reported)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding the real plate")
    parser.add_argument("--version", choices=("0.4", "0.5"), default="0.4",
                        help="NGFF version of the generated plate")
    parser.add_argument("--cache", type=Path, default=None,
                        help="peers venv and generated data (default ~/.cache/ngff-kit-bench)")
    parser.add_argument("--omezarr-auth", choices=("url", "header"), default="url",
                        help="how ome-zarr-py gets the credential (header: lost below the root)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write every run as JSON here")
    args = parser.parse_args(argv)

    from kit.demo.server import DemoServer

    cache = args.cache or cache_dir()
    real = args.data / REAL
    jobs = list(args.jobs)
    if not real.exists() and any(j in jobs for j in ("preview", "tables")):
        print(f"skipping preview and tables: the real plate {real} is absent", file=sys.stderr)
        jobs = [j for j in jobs if j not in ("preview", "tables")]
    plate = plate96(cache, args.version) if {"images", "overview"} & set(jobs) else None
    pythons = {"ngff-kit": Path(sys.executable)}
    peer_versions: dict[str, str] = {}
    if any(r != "ngff-kit" for r in args.readers) and set(jobs) & set(REMOTE_JOBS):
        pythons["ngio"] = pythons["ome-zarr-py"] = peers_python(cache)
        peer_versions = versions(pythons["ngio"])

    runs: list[Run] = []
    for latency in args.latency:
        if not set(jobs) & set(REMOTE_JOBS):
            break
        password = base64.urlsafe_b64encode(os.urandom(12)).decode()
        servers = {}
        if real.exists():
            servers["real"] = DemoServer(real.parent, auth="basic", password=password,
                                         latency=latency).start()
        if plate is not None:
            servers["gen"] = DemoServer(plate.parent, auth="basic", password=password,
                                        latency=latency).start()
        try:
            header = "Basic " + base64.b64encode(f"demo:{password}".encode()).decode()
            env = {**os.environ, "BENCH_AUTH": header, "BENCH_USERINFO": f"demo:{password}",
                   "BENCH_NGFF": args.version, "PYTHONWARNINGS": "ignore",
                   "BENCH_OMEZARR_AUTH": args.omezarr_auth}
            for job in (j for j in jobs if j in REMOTE_JOBS):
                if job in ("preview", "tables"):
                    srv, rel, local = servers["real"], f"{REAL}/{REAL_IMAGE}", real / REAL_IMAGE
                else:
                    srv, rel, local = servers["gen"], plate.name, plate
                for reader in args.readers:
                    if job not in SUPPORTED[reader]:
                        continue
                    run = run_remote(job, reader, srv, srv.url + rel, str(local),
                                     pythons[reader], args.repeat, env, args.timeout)
                    runs.append(run)
                    print(f"{job:9} {latency * 1000:3.0f} ms {reader:12} "
                          f"{run.seconds if run.seconds is not None else float('nan'):7.2f} s "
                          f"{run.requests or 0:5d} req  waves {run.waves or '-'}"
                          f"{'  ERROR ' + run.error if run.error else ''}",
                          file=sys.stderr, flush=True)
        finally:
            for s in servers.values():
                s.stop()
    if "decode" in jobs:
        runs += run_decode(decode_image(cache), max(args.repeat, DECODE_REPEAT))

    head = (f"{date.today().isoformat()}, {os.cpu_count()} cores, {platform.python_version()}, "
            f"plate v{args.version}, peers {peer_versions or '-'}")
    print(head)
    print(table(runs))
    if args.json:
        args.json.write_text(json.dumps({"header": head, "runs": [asdict(r) for r in runs]},
                                        indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
