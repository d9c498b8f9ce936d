"""``demo``: the whole product in one command, over authenticated HTTP on loopback.

A sample plate is written, served with a made-up password, opened, described and previewed;
the password is shown only with ``--keep-serving`` (once, to log in from a notebook).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from kit.auth.env import ENV_DEMO_PASSWORD
from kit.cli.credentials import login_help
from kit.cli.exits import EXIT_OK, UsageError
from kit.cli.output import remember_secret, say
from kit.cli.preview import png_size, write_png

DEMO_USER = "demo"
DEMO_DATASET = "plate.zarr"


def generate_sample(out: Path, version: str) -> Path:
    """Write the sample plate under ``out`` (replacing a previous demo's copy)."""
    from kit.demo.generate import sample_dataset

    target = out / DEMO_DATASET
    if target.exists():
        if not ((target / "zarr.json").exists() or (target / ".zgroup").exists()):
            raise UsageError(f"{target} exists and is not a zarr dataset: not overwriting it")
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)
    return sample_dataset(target, version=version)


def first_image_with_labels(plate: Any) -> tuple[str, Any, str | None]:
    """The first field that has a label image (the demo's preview subject)."""
    first = None
    for well_path in plate.well_paths:
        for field, image in plate.well(well_path).images.items():
            labels = image.labels
            first = first or (f"{well_path}/{field}", image, None)
            if labels:
                return f"{well_path}/{field}", image, next(iter(labels))
    if first is None:
        from kit.errors import NotFound

        raise NotFound("the plate has no image", where=plate.url)
    return first


def demo_pictures(plate: Any, out: Path) -> list[tuple[str, Path]]:
    """A field with its label overlay and the plate overview, as PNG files in ``out``."""
    import kit.render

    path, image, label = first_image_with_labels(plate)
    name = f"preview_{path.replace('/', '_')}.png"
    field_png = write_png(kit.render.preview(image, max_size=512, labels=label, annotate=True),
                          out / name)
    overview = kit.render.plate_overview(plate, max_size=768, progress=False, annotate=True)
    overview_png = write_png(overview, out / "plate_overview.png")
    what = f"field {path}" + (f" with label {label!r}" if label else "")
    return [(what, field_png), ("plate overview", overview_png)]


def cmd_demo(args: argparse.Namespace) -> int:
    """``demo``: generate, serve, describe and preview the sample plate."""
    out = Path(args.out).resolve()
    started = time.perf_counter()
    dataset = generate_sample(out, args.version)
    say(f"sample plate (NGFF {args.version}) written to {dataset} "
        f"in {time.perf_counter() - started:.1f} s")
    if args.no_serve:
        return EXIT_OK
    return serve_demo(dataset, out, args)


def serve_demo(dataset: Path, out: Path, args: argparse.Namespace) -> int:
    import kit
    import kit.render
    from kit.demo.server import DemoServer

    password = remember_secret(os.environ.get(ENV_DEMO_PASSWORD) or secrets.token_urlsafe(12))
    with DemoServer(dataset, auth="basic", username=DEMO_USER, password=password,
                    latency=args.latency) as server:
        say(f"serving it at {server.url} (HTTP Basic auth, fresh password; 127.0.0.1 only)")
        say("")
        plate = kit.open(server.url, auth=kit.BasicAuth(DEMO_USER, password or ""))
        say(kit.render.describe_text(plate))
        n_tree = server.count()
        say("")
        for what, path in demo_pictures(plate, out):
            w, h = png_size(path)
            say(f"{what}: {path} ({w}x{h})")
        total = server.count()
        say(f"HTTP requests: {total} ({n_tree} for the tree, {total - n_tree} for the pictures)")
        if args.keep_serving:
            keep_serving(server, DEMO_USER, password or "")
    return EXIT_OK


def keep_serving(server: Any, user: str, password: str) -> None:
    """Print how to log in (the password once, here only) and block until Ctrl-C."""
    say("")
    say(f"Still serving {server.url}  (Ctrl-C to stop)")
    say(f"  user: {user}   password: {password}   (made up for this run; shown only here)")
    for line in login_help(server.url, user, token=False):
        say(line)
    server.serve_forever()
