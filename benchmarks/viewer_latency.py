"""Viewer latency: from a wheel or drag event to the new picture drawn, in a real browser.

    python benchmarks/viewer_latency.py                 # 0 and 50 ms server latency, 24 events
    python benchmarks/viewer_latency.py --latency 0.05 --events 40 --json out.json
    python benchmarks/viewer_latency.py --plate        # the same gestures on a plate mosaic

A generated 4096 x 4096 two-channel image (5 levels, 256 x 256 chunks holding both channels,
so one request per tile) is served by the kit's DemoServer with latency added to every
request; Voila serves a notebook that calls ``kit.view`` on it; Debian's Chromium, driven by
Playwright, zooms with the wheel and pans by dragging. The viewer's module marks
``performance.now()`` at each event and again when every visible tile of the level the
screen needs is drawn (``probe.latency``). Requests per view are the server's chunk GETs
between two settled views, against the view's visible tiles.

The browser test (``tests/test_view_browser.py``) drives the viewer with the same harness
(``voila_viewer``), which is why it lives here, importable, rather than in the test; Voila and
Chromium are started by ``browser_harness.py``, shared with the other browser tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from browser_harness import NO_FILES, STEP_MS, jupyter_env, voila_page

CELL = ("import json, os\nimport kit\n"
        "viewer = kit.view(kit.open(os.environ['KIT_VIEW_URL']),\n"
        "                  **json.loads(os.environ.get('KIT_VIEW_OPTIONS', '{}')))\nviewer")


@contextlib.contextmanager
def voila_viewer(workdir: Path, url: str, options: dict[str, Any] | None = None, *,
                 viewport: tuple[int, int] = (900, 700)) -> Iterator[Any]:
    """A Playwright page showing ``kit.view(kit.open(url), **options)`` in Voila, once its
    first picture is complete; Voila and Chromium are stopped afterwards."""
    env = jupyter_env(workdir, KIT_VIEW_URL=url, KIT_VIEW_OPTIONS=json.dumps(options or {}))
    with voila_page(workdir, [CELL], env, name="kit_view.ipynb", viewport=viewport,
                    voila_args=["--show_tracebacks=True", NO_FILES]) as page:
        page.locator(".ngffkit-view[data-complete='1']").wait_for(timeout=STEP_MS * 2)
        yield page


def probe(page: Any, expr: str) -> Any:
    """Evaluate ``expr`` with ``p`` the viewer's probe (views sent, latencies, state)."""
    return page.evaluate(f"() => {{ const p = window.__ngffkit[window.__ngffkit.length - 1];"
                         f" return {expr}; }}")


def canvas_box(page: Any) -> dict[str, float]:
    return page.locator(".ngffkit-view canvas").bounding_box()


def wait_complete(page: Any, n_latency: int, timeout: float = 60.0) -> None:
    """Until a latency sample beyond the first ``n_latency`` is recorded (picture complete)."""
    page.wait_for_function(
        "(n) => { const p = window.__ngffkit[window.__ngffkit.length - 1];"
        " return p.latency.length > n && p.st.complete; }", arg=n_latency,
        timeout=timeout * 1000)


def wait_quiet(server: Any, seconds: float = 0.8, timeout: float = 30.0) -> None:
    """Until the server saw no request for ``seconds`` (the prefetch ring is in)."""
    deadline = time.monotonic() + timeout
    last, since = len(server.requests), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = len(server.requests)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
    raise TimeoutError("the viewer kept reading")


def wheel(page: Any, dy: float, at: tuple[float, float] | None = None) -> None:
    box = canvas_box(page)
    x, y = at or (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(x, y)
    page.mouse.wheel(0, dy)


def drag(page: Any, dx: float, dy: float, steps: int = 6) -> None:
    box = canvas_box(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=steps)
    page.mouse.up()


def is_chunk(path: str) -> bool:
    """Whether a request path is an array chunk (not a metadata document, not a table)."""
    name = path.rsplit("/", 1)[-1]
    return not name.startswith(".") and name != "zarr.json" and "/tables/" not in path


def chunk_gets(server: Any) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and is_chunk(r.path))


def write_data(root: Path) -> Path:
    from kit.demo.generate import write_image

    path = root / "big.zarr"
    if not path.exists():
        write_image(path, shape=(2, 1, 4096, 4096), axes="czyx", chunks=(2, 1, 256, 256),
                    levels=5, labels=(), tables=False)
    return path


def write_plate_data(root: Path) -> Path:
    """A 3 x 4 plate of 2048 x 2048 two-channel fields (4 levels, 256 x 256 chunks)."""
    from kit.demo.generate import write_plate

    path = root / "plate.zarr"
    if not path.exists():
        write_plate(path, rows="BCD", columns=("02", "03", "04", "05"),
                    image_kwargs={"axes": "czyx", "shape": (2, 1, 2048, 2048),
                                  "chunks": (2, 1, 256, 256), "levels": 4, "labels": ()})
    return path


def _geometry(g: dict[str, Any]) -> Any:
    from kit.render.tiles import LevelGeometry

    return LevelGeometry(g["index"], tuple(g["shape"]), tuple(g["factor"]), tuple(g["tile"]),
                         tuple(g.get("origin", (0.0, 0.0))))


def visible_count(page: Any, levels: list[dict[str, Any]],
                  grids: list[list[dict[str, Any]]] | None = None) -> int:
    """Visible tiles of the current view over every tile grid of its level (one for an
    image, one per well for a plate): the viewer's own rule, recomputed here."""
    from kit.render.tiles import View, choose_view_level, visible_tiles

    geo = [_geometry(g) for g in levels]
    s = probe(page, "p.state()")
    view = View(s["x0"], s["y0"], s["x1"], s["y1"], s["width"], s["height"])
    level = choose_view_level(geo, view)
    shown = [_geometry(g) for g in grids[level]] if grids else [geo[level]]
    return sum(len(visible_tiles(g, view)) for g in shown)


# The gestures, in turn: wheel (deltaY, pointer at fraction x, y of the canvas) zooming in
# towards different places, drags far enough to leave the prefetched ring, wheel out.
GESTURES: list[tuple[str, tuple[float, ...]]] = [
    ("wheel", (-240, 0.3, 0.3)), ("wheel", (-240, 0.7, 0.4)), ("wheel", (-240, 0.5, 0.7)),
    ("wheel", (-240, 0.4, 0.5)), ("drag", (300, 200)), ("drag", (-350, 100)),
    ("drag", (200, -300)), ("wheel", (480, 0.5, 0.5)), ("wheel", (480, 0.2, 0.8)),
    ("wheel", (480, 0.5, 0.5)),
]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(page: Any, server: Any, latency: float, events: int) -> dict[str, Any]:
    """Time ``events`` gestures on a freshly loaded viewer with ``latency`` on every request."""
    server.latency = latency
    page.reload(wait_until="domcontentloaded")  # a new kernel: no tile cached anywhere
    page.locator(".ngffkit-view[data-complete='1']").wait_for(timeout=STEP_MS * 2)
    levels = probe(page, "p.st.levels")
    grids = probe(page, "p.st.grids")
    samples: list[dict[str, Any]] = []
    per_view: list[tuple[int, int]] = []
    wait_quiet(server)
    for i in range(events):
        n = probe(page, "p.latency.length")
        before = chunk_gets(server)
        kind, args = GESTURES[i % len(GESTURES)]
        box = canvas_box(page)
        if kind == "wheel":
            dy, fx, fy = args
            wheel(page, dy, (box["x"] + fx * box["width"], box["y"] + fy * box["height"]))
        else:
            drag(page, *args)
        wait_complete(page, n)
        sample = probe(page, "p.latency[p.latency.length - 1]")
        samples.append({"kind": kind, "ms": sample["ms"], "level": sample["level"],
                        "cold": bool(sample["cold"])})
        wait_quiet(server, 0.5)
        per_view.append((chunk_gets(server) - before, visible_count(page, levels, grids)))
    ms = [s["ms"] for s in samples]
    cold = [s["ms"] for s in samples if s["cold"]] or [float("nan")]
    return {"latency_s": latency, "events": len(ms), "p50_ms": statistics.median(ms),
            "p95_ms": p95(ms), "max_ms": max(ms), "cold_events": len(cold),
            "cold_p50_ms": statistics.median(cold), "cold_p95_ms": p95(cold),
            "requests_per_view": statistics.mean(r for r, _ in per_view),
            "visible_tiles_per_view": statistics.mean(v for _, v in per_view),
            "max_requests_over_visible": max(r - v for r, v in per_view),
            "samples": samples, "per_view": per_view}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, nargs="*", default=[0.0, 0.05])
    parser.add_argument("--events", type=int, default=24)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--plate", action="store_true",
                        help="a 3 x 4 plate mosaic instead of one 4096 x 4096 image")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kit-view-bench-"))
    from kit.demo.server import DemoServer

    data = write_plate_data(workdir) if args.plate else write_data(workdir)
    with DemoServer(data.parent) as server, \
            voila_viewer(workdir / "voila", server.url + data.name,
                         {"width": 640, "height": 480}) as page:
        results = [run(page, server, lat, args.events) for lat in args.latency]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| server latency | events | p50 | p95 | cold events | cold p50 | cold p95 | "
          "chunk GETs / view | visible tiles / view | worst GETs - visible |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['latency_s'] * 1000:.0f} ms | {r['events']} | {r['p50_ms']:.0f} ms | "
              f"{r['p95_ms']:.0f} ms | {r['cold_events']} | {r['cold_p50_ms']:.0f} ms | "
              f"{r['cold_p95_ms']:.0f} ms | {r['requests_per_view']:.1f} | "
              f"{r['visible_tiles_per_view']:.1f} | {r['max_requests_over_visible']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
