"""``preview SOURCE -o out.png``: one PNG, reading only the chunks it shows.

An image, label, well (its first field), plate (the overview) or 0.6 scene (its members
placed); ``--coordinate-system NAME`` draws an image in another of its coordinate systems.

The options become one ``RenderSpec`` (checked once, as for ``kit.preview``; a bad one is a
usage error). Options the data cannot honour (a t the image does not have, a level past the
last, a group that is not a picture) are usage errors named before any chunk is read; only PNG
is written, so ``-o x.jpg`` is refused rather than filled with PNG bytes. The picture is
annotated (scale bar, channel legend, well names) unless ``--no-annotate``: a PNG that leaves
the terminal must say what it shows.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit.cli.credentials import open_source
from kit.cli.exits import EXIT_OK, UsageError
from kit.cli.output import say

if TYPE_CHECKING:
    from kit.render.spec import RenderSpec


def positive_int(text: str) -> int:
    """argparse type of ``--size``: a picture has at least one pixel a side."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of pixels, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def index_int(text: str) -> int:
    """argparse type of ``--z``, ``--t``, ``--level``: an index from 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an index (0, 1, ...), not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def parse_channels(values: Sequence[str] | None) -> list[int | str] | None:
    """``--channels 0 GFP``: digits are indices, anything else a channel name."""
    if not values:
        return None
    return [int(v) if v.lstrip("-").isdigit() else v for v in values]


def png_output(text: str) -> Path:
    """The output file; only PNG is written, so any other suffix is refused."""
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise UsageError(f"-o {text}: only PNG pictures are written; "
                         "give a file name ending in .png")
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header, to tell the user what was written."""
    head = path.read_bytes()[:24]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def write_png(rgb: Any, path: Path) -> Path:
    from kit.render import save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(rgb, path)
    return path


def _check_index(option: str, value: int | None, axes: Sequence[str], axis: str, size: int,
                 where: str) -> None:
    if value is None:
        return
    if axis not in axes:
        raise UsageError(f"{option} {value}: {where} has no {axis} axis (axes {''.join(axes)})")
    if value >= size:
        raise UsageError(f"{option} {value}: {where} has {size} {axis} position(s) (0-{size - 1})")


def spec_from_args(args: argparse.Namespace) -> RenderSpec:
    """The one ``RenderSpec`` of the command's options (InvalidRenderSpec: exit 2)."""
    from kit.render.spec import RenderSpec

    if args.label_style is not None and not args.labels:
        raise UsageError(f"--label-style {args.label_style}: give the labels to draw "
                         "(--labels NAME)")
    return RenderSpec.from_kwargs(
        max_size=args.size, channels=parse_channels(args.channels), z=args.z, t=args.t,
        level=args.level, labels=args.labels, label_style=args.label_style or "auto",
        fields=args.fields, annotate=args.annotate, gamma=args.gamma,
        coordinate_system=args.coordinate_system,
        colors=None if args.colors is None else [None if c == "-" else c for c in args.colors])


def check_options(node: Any, spec: RenderSpec) -> None:
    """Refuse what cannot be previewed, and z/t/level/coordinate system the picture's image
    does not have."""
    from kit.nodes import Image, Label, Plate, Scene, Well

    if isinstance(node, Plate):
        if spec.level is not None:
            raise UsageError("--level applies to an image, label or well, not a plate overview "
                             "(which picks a level per field)")
        if spec.coordinate_system is not None:
            raise UsageError("--coordinate-system applies to an image, label, well or scene, not "
                             "a plate overview (each field is shown on its own grid)")
        return
    if spec.fields != "first":
        raise UsageError(f"--fields {spec.fields} applies to a plate overview, not to "
                         f"{node.url}")
    if isinstance(node, Scene):
        if spec.coordinate_system not in (None, node.target):
            raise UsageError(f"--coordinate-system {spec.coordinate_system}: {node.url} is a "
                             f"scene shown in its coordinate system {node.target!r}")
        return
    if not isinstance(node, (Image, Label, Well)):
        kind = getattr(node, "kind", None) or type(node).__name__.lower()
        members = ", ".join(list(getattr(node, "members", {}))[:8])
        hint = f"; preview one of its members ({members})" if members else ""
        raise UsageError(f"{node.url} is a {kind}, not a picture: give an image, label, well or "
                         f"plate{hint}")
    image: Any = node
    if isinstance(node, Well):
        images = node.images
        if not images:
            return  # the render says there is no field
        image = next(iter(images.values()))
    levels, axes = image.levels, list(image.axes)
    if spec.level is not None and spec.level >= len(levels):
        raise UsageError(f"--level {spec.level}: {image.url} has {len(levels)} level(s) "
                         f"(0-{len(levels) - 1})")
    shape = levels[0].shape
    for option, value, axis in (("--z", spec.z, "z"), ("--t", spec.t, "t")):
        size = shape[axes.index(axis)] if axis in axes else 0
        _check_index(option, value, axes, axis, size, image.url)
    systems = [cs.name for cs in image.coordinate_systems]
    if spec.coordinate_system is not None and spec.coordinate_system not in systems:
        raise UsageError(f"--coordinate-system {spec.coordinate_system}: {image.url} has no such "
                         f"coordinate system (its coordinate systems: {', '.join(systems)})")


def cmd_preview(args: argparse.Namespace) -> int:
    """``preview SOURCE -o out.png``: one PNG, reading only the chunks it shows."""
    import kit.render

    output = png_output(args.output)
    spec = spec_from_args(args)
    node = open_source(args)
    check_options(node, spec)
    out = write_png(kit.render.preview(node, spec=spec), output)
    w, h = png_size(out)
    say(f"wrote {out} ({w}x{h})")
    return EXIT_OK
