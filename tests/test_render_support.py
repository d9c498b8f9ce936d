"""Helpers shared by the render tests (no tests here): attribute edits, a hand compositor,
and reading the server log as chunk coordinates and round-trip batches."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

METADATA = (".zattrs", ".zgroup", ".zarray", ".zmetadata", "zarr.json")


def edit_ome(group: Path, change: Callable[[dict], None]) -> None:
    """Edit the NGFF attributes of a group in place (0.4: .zattrs, 0.5: zarr.json ``ome``)."""
    if (group / ".zattrs").exists():
        attrs = json.loads((group / ".zattrs").read_text())
        change(attrs)
        (group / ".zattrs").write_text(json.dumps(attrs))
        return
    doc = json.loads((group / "zarr.json").read_text())
    change(doc["attributes"]["ome"])
    (group / "zarr.json").write_text(json.dumps(doc))


def reference_composite(planes: np.ndarray, colors: Iterable[str],
                        windows: Iterable[tuple[float, float]]) -> np.ndarray:
    """Additive compositing written out by hand: float RGB in [0, 1]."""
    out = np.zeros(planes.shape[1:] + (3,), np.float64)
    for plane, color, (start, end) in zip(planes, colors, windows):
        rgb = np.array([int(color[i:i + 2], 16) for i in (0, 2, 4)], np.float64) / 255
        v = np.clip((plane.astype(np.float64) - start) / (end - start), 0, 1)
        out += v[..., None] * rgb
    return np.clip(out, 0, 1)


def u8(rgb: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def is_metadata(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in METADATA


def chunk_requests(requests, prefix: str) -> dict[str, set[tuple[int, ...]]]:
    """{level path: {chunk coordinates}} of the chunk GETs under ``prefix`` (v2 "/" or v3 keys)."""
    out: dict[str, set[tuple[int, ...]]] = {}
    prefix = "/" + prefix.strip("/") + "/"
    for r in requests:
        if not r.path.startswith(prefix) or is_metadata(r.path):
            continue
        level, *coords = r.path[len(prefix):].split("/")
        if coords and coords[0] == "c":
            coords = coords[1:]
        if not coords or not all(c.isdigit() for c in coords):
            continue  # deeper groups (labels/...), not chunks of this image's levels
        out.setdefault(level, set()).add(tuple(int(c) for c in coords))
    return out


def expected_chunks(shape, chunks, fixed: dict[int, Iterable[int]]) -> set[tuple[int, ...]]:
    """Chunk coordinates of a view: the given indices on ``fixed`` axes, everything elsewhere."""
    per_axis = []
    for axis, (n, c) in enumerate(zip(shape, chunks)):
        if axis in fixed:
            per_axis.append(sorted({i // c for i in fixed[axis]}))
        else:
            per_axis.append(range(math.ceil(n / c)))
    grid = np.stack(np.meshgrid(*per_axis, indexing="ij"), -1).reshape(-1, len(shape))
    return {tuple(int(v) for v in row) for row in grid}


def batches(requests, latency: float) -> list[list]:
    """Requests grouped into round trips: a request that arrives less than ``latency`` after the
    first of a batch was sent before that batch's answers could have come back."""
    out: list[list] = []
    for r in sorted(requests, key=lambda r: r.time):
        if out and r.time - out[-1][0].time < latency * 0.8:
            out[-1].append(r)
        else:
            out.append([r])
    return out


class BarrierServer:
    """Mixin for the real DemoServer: chunk responses wait until ``n`` chunk requests are in.

    If the client sends every chunk of a view before waiting for any answer (one round trip),
    the barrier opens as soon as the last one arrives; if it waits for some answers first, the
    barrier cannot fill and the held requests are released by the timeout and counted. So
    ``timed_out == 0`` proves the chunks were all in flight together, whatever the CPU timing.
    """

    def expect(self, n: int, timeout: float = 3.0) -> None:
        import asyncio

        self._n, self._timeout, self._arrived, self.timed_out = n, timeout, 0, 0
        self._open = asyncio.Event()

    async def _respond(self, request):  # type: ignore[override]
        import asyncio

        if getattr(self, "_n", 0) and not is_metadata(request.path):
            self._arrived += 1
            if self._arrived >= self._n:
                self._open.set()
            try:
                await asyncio.wait_for(self._open.wait(), self._timeout)
            except TimeoutError:
                self.timed_out += 1
        return await super()._respond(request)  # type: ignore[misc]


def barrier_server(*args, **kwargs):
    from kit.demo.server import DemoServer

    cls = type("BarrierDemoServer", (BarrierServer, DemoServer), {})
    return cls(*args, **kwargs)
