"""``info SOURCE``: the ``tree``-like text (or JSON) of a dataset's structure."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from kit.cli.credentials import open_source
from kit.cli.exits import EXIT_OK
from kit.cli.output import say
from kit.cli.tree import describe


def fmt_tuple(values: Sequence[Any]) -> str:
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + ")"


def level_lines(levels: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}level {lv['path']}: shape {fmt_tuple(lv['shape'])} {lv['dtype']} "
            f"chunks {fmt_tuple(lv['chunks'])} scale {fmt_tuple(lv['scale'])}" for lv in levels]


def table_lines(tables: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}table {t['name']} ({t['kind']}, {t['backend']})"
            + (f" -> {t['region']}" if t.get("region") else "") for t in tables]


def array_line(a: dict[str, Any], indent: str) -> str:
    chunks = f" chunks {fmt_tuple(a['chunks'])}" if a.get("chunks") else ""
    return f"{indent}{a['path'] or '.'}  array {fmt_tuple(a['shape'] or [])} {a['dtype']}{chunks}"


def image_lines(im: dict[str, Any], indent: str) -> list[str]:
    head = f"{indent}{im['path'] or '.'}  {im['type']} {''.join(im['axes'])}"
    lines = [head + (f", NGFF {im['version']}" if im.get("version") else "")]
    inner = indent + "  "
    if im["channels"]:
        lines.append(inner + "channels: " + ", ".join(
            f"{c['label']} (#{c['color']})" if c.get("color") else str(c["label"])
            for c in im["channels"]))
    lines += level_lines(im["levels"], inner)
    for lab in im["labels"]:
        lines.append(f"{inner}label {lab['name']}: {''.join(lab['axes'])}, "
                     f"{len(lab['levels'])} levels, {lab['colors']} colours")
        lines += level_lines(lab["levels"], inner + "  ")
    lines += table_lines(im["tables"], inner)
    return lines


def layout_key(im: dict[str, Any]) -> str:
    """What makes two fields print the same: the text without the path, colour counts and
    windows."""
    labels = [{**lab, "colors": 0} for lab in im["labels"]]
    return "\n".join(image_lines({**im, "path": "", "labels": labels}, ""))


def compact_image_lines(im: dict[str, Any], where: str, seen: dict[str, str],
                        indent: str) -> list[str]:
    """A field in full the first time its layout appears, then one line pointing back to it."""
    key = layout_key(im)
    if key in seen:
        axes = "".join(im["axes"])
        return [f"{indent}{im['path']}  {im['type']} {axes}, same layout as {seen[key]}"]
    seen[key] = where
    return image_lines(im, indent)


def tree_lines(d: dict[str, Any]) -> list[str]:
    """The ``tree``-like text of ``describe``'s dict."""
    kind = d["type"]
    if kind == "plate":
        n, listed = len(d["wells"]), d.get("listed_wells", len(d["wells"]))
        count = f"{n} wells" if n == listed else f"{n} of {listed} listed wells readable"
        grid = f"rows {' '.join(d['rows'])}; columns {' '.join(d['columns'])}"
        head = f"{d['source']}  plate {len(d['rows'])}x{len(d['columns'])} ({grid}), {count}"
        lines = [f"{head}, NGFF {d['version']}"]
        lines += table_lines(d["tables"], "  ")
        seen: dict[str, str] = {}
        for well in d["wells"]:
            lines.append(f"  well {well['path']}: {len(well['images'])} field(s)")
            for im in well["images"]:
                lines += compact_image_lines(im, f"{well['path']}/{im['path']}", seen, "    ")
        return lines
    if kind == "well":
        lines = [f"{d['source']}  well, {len(d['images'])} field(s), NGFF {d['version']}"]
        for im in d["images"]:
            lines += image_lines(im, "  ")
        return lines
    if kind in ("image", "label"):
        return [d["source"]] + image_lines(d, "  ")
    if kind == "array":
        return [d["source"]] + [array_line(d, "  ")]
    if kind == "group":
        lines = [f"{d['source']}  group, {len(d['members'])} member(s)"]
        for m in d["members"]:
            if m["type"] in ("image", "label"):
                lines += image_lines(m, "  ")
            elif m["type"] == "array":
                lines.append(array_line(m, "  "))
            else:
                lines.append(f"  {m['path']}  {m['type']}")
        return lines
    return [f"{d['source']}  {kind}"]


def cmd_info(args: argparse.Namespace) -> int:
    """``info SOURCE``: the tree of a dataset, as text or JSON."""
    tree = describe(open_source(args))
    if args.json:
        say(json.dumps(tree, indent=2))
    else:
        for line in tree_lines(tree):
            say(line)
    return EXIT_OK
