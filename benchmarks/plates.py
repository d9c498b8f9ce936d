"""The `plates` job: one thumbnail per well of generated plates of 96, 384 and 1536 wells.

    python benchmarks/plates.py                               # kit and ngio, 0 and 20 ms
    python benchmarks/plates.py --readers ngff-kit --wells 384 --fields 4 --latency 0.02
    python benchmarks/plates.py --ngio-max-wells 1536          # ngio on the biggest plate too

Each plate is 2x1x64x64 per field (uint16, one chunk per level, 2 levels, NGFF 0.4, no
labels), 1 or 4 fields per well, written once under the bench cache. A fresh process per (plate,
reader, latency, repeat) warms up on the local 96-well plate (imports and pools warm, nothing of
the measured plate cached), then makes the overview of the remote plate on the authenticated
loopback ``DemoServer``: ``kit.plate_overview`` for the kit, for ngio the `overview` job of
``jobs_peers.py`` (``cache=True``, ``get_images(max_workers="auto")``, the lowest level of each
well's first field on ngio's own pool). Reported: requests (server log), dependent waves, wall,
client CPU (the reader's process), its peak RSS (VmHWM) and wall / (5 x latency), the
dependent-round-trip limit of the chain plate, wells, fields, levels, chunks. Best of
``--repeat`` by wall; the plot (``plates.png``) shows wall and client CPU against plate size.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import string
import sys
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import cache_dir, peers_python, versions  # noqa: E402
from run import Run, run_remote  # noqa: E402

SIZES = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}
CHAIN = 5  # plate, wells, fields, levels, chunks
READERS = ("ngff-kit", "ngio")


def row_names(n: int) -> list[str]:
    """A..Z, then AA, AB, ... (a 1536-well plate has 32 rows)."""
    letters = string.ascii_uppercase
    return [letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26] for i in range(n)]


def plate(cache: Path, wells: int, fields: int) -> Path:
    """The generated plate (written once; a marker file says it is complete)."""
    from kit.demo.generate import write_plate

    rows, cols = SIZES[wells]
    path = cache / "data" / "plates" / f"plate{wells}x{fields}.zarr"
    done = path.with_suffix(".done")
    if not done.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        print(f"writing {path} ...", file=sys.stderr, flush=True)
        write_plate(path, rows=row_names(rows), columns=[f"{c:02d}" for c in range(1, cols + 1)],
                    fields=fields, image_kwargs={"shape": (2, 1, 64, 64),
                                                 "chunks": (2, 1, 64, 64), "levels": 2,
                                                 "labels": ()})
        done.write_text("ok")
    return path


def cell(r: Run, key: str, fmt: str = "{:.2f}") -> str:
    value = getattr(r, key) if hasattr(r, key) else r.summary.get(key)
    return "-" if value is None else fmt.format(value)


def table(runs: list[Run]) -> str:
    lines = ["| wells x fields | latency | reader | requests | waves | wall s | client CPU s | "
             "CPU ms / well | peak RSS MB | wall / limit |", "|---" * 10 + "|"]
    for r in runs:
        wells, fields = r.summary["plate"]
        if r.error:
            lines.append(f"| {wells} x {fields} | {r.latency * 1000:.0f} ms | {r.reader} | "
                         f"failed: {r.error[:80]} |||||||")
            continue
        limit = CHAIN * r.latency
        ratio = f"{r.seconds / limit:.1f}x" if limit else "-"
        lines.append(
            f"| {wells} x {fields} | {r.latency * 1000:.0f} ms | {r.reader} | {r.requests} | "
            f"{r.waves or '-'} | {r.seconds:.2f} | {cell(r, 'cpu_client')} | "
            f"{1000 * r.cpu_client / wells:.2f} | {cell(r, 'rss_mb', '{:.0f}')} | {ratio} |")
    return "\n".join(lines)


def plot(runs: list[Run], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    what = [("seconds", "wall s"), ("cpu_client", "client CPU s"), ("requests", "requests")]
    colors = {("ngff-kit", 1): "tab:blue", ("ngff-kit", 4): "tab:cyan",
              ("ngio", 1): "tab:red", ("ngio", 4): "tab:orange"}
    keys = sorted({(r.reader, r.summary["plate"][1], r.latency) for r in runs if not r.error})
    for ax, (attr, label) in zip(axes, what):
        for reader, fields, latency in keys:
            pts = sorted((r.summary["plate"][0], getattr(r, attr)) for r in runs
                         if not r.error and r.reader == reader and r.latency == latency
                         and r.summary["plate"][1] == fields)
            if attr == "requests" and latency != min(k[2] for k in keys):
                continue  # the same requests at every latency
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "-" if latency else ":",
                    color=colors.get((reader, fields), "grey"), marker="o" if latency else "s",
                    label=f"{reader}, {fields} field{'s' * (fields > 1)}"
                          + ("" if attr == "requests" else f", {latency * 1000:.0f} ms"))
        if attr == "seconds":
            for latency in sorted({k[2] for k in keys if k[2] > 0}):
                ax.axhline(CHAIN * latency, color="grey", lw=0.8, ls=":")
                ax.annotate(f"round-trip limit {CHAIN} x {latency * 1000:.0f} ms",
                            (96, CHAIN * latency), textcoords="offset points", xytext=(0, 3),
                            fontsize=7, color="grey")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(list(SIZES), [str(s) for s in SIZES])
        ax.minorticks_off()
        ax.set_xlabel("wells per plate")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    fig.suptitle("plate overview (one thumbnail per well), authenticated loopback server; "
                 "best of N on a shared 2-core machine")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wells", type=int, nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--fields", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.02])
    parser.add_argument("--readers", nargs="+", choices=READERS, default=list(READERS))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--ngio-max-wells", type=int, default=384,
                        help="skip ngio on bigger plates (minutes per run)")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=HERE / "plates.png")
    parser.add_argument("--previous", type=Path, nargs="*", default=[],
                        help="--json files of earlier runs to report and plot with these")
    args = parser.parse_args(argv)

    from kit.demo.server import DemoServer

    cache = args.cache or cache_dir()
    warm = plate(cache, 96, 1)
    plates = {(w, f): plate(cache, w, f) for w in args.wells for f in args.fields}
    pythons = {"ngff-kit": Path(sys.executable)}
    peer_versions = {}
    if "ngio" in args.readers:
        pythons["ngio"] = peers_python(cache)
        peer_versions = versions(pythons["ngio"])
    runs: list[Run] = []
    for latency in args.latency:
        password = base64.urlsafe_b64encode(os.urandom(12)).decode()
        srv = DemoServer(warm.parent, auth="basic", password=password, latency=latency).start()
        try:
            header = "Basic " + base64.b64encode(f"demo:{password}".encode()).decode()
            env = {**os.environ, "BENCH_AUTH": header, "BENCH_USERINFO": f"demo:{password}",
                   "BENCH_NGFF": "0.4", "PYTHONWARNINGS": "ignore"}
            for (wells, fields), path in plates.items():
                for reader in args.readers:
                    if reader == "ngio" and wells > args.ngio_max_wells:
                        print(f"skipping ngio on {wells} wells (--ngio-max-wells "
                              f"{args.ngio_max_wells})", file=sys.stderr)
                        continue
                    run = run_remote("overview", reader, srv, srv.url + path.name, str(warm),
                                     pythons[reader], args.repeat, env, args.timeout)
                    run.summary["plate"] = [wells, fields]
                    runs.append(run)
                    print(f"{wells:5d} x {fields} {latency * 1000:3.0f} ms {reader:9} "
                          f"{run.seconds or float('nan'):6.2f} s cpu {run.cpu_client or 0:5.2f} s "
                          f"{run.requests or 0:6d} req rss {run.rss_mb or 0:.0f} MB"
                          f"{'  ERROR ' + run.error if run.error else ''}",
                          file=sys.stderr, flush=True)
        finally:
            srv.stop()
    for previous in args.previous:
        runs += [Run(**r) for r in json.loads(previous.read_text())]
    runs.sort(key=lambda r: (r.latency, r.summary["plate"], r.reader))
    print(f"{os.cpu_count()} cores, peers {peer_versions or '-'}")
    print(table(runs))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1, default=str))
    if args.plot and runs:
        plot(runs, args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
