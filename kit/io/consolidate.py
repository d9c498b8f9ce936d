"""Write consolidated metadata for a local dataset, so a server can hand out a whole
hierarchy's metadata in one request.

This is the one place the kit writes (on explicit request, before publishing): zarr v2 gets a
root ``.zmetadata``; zarr v3 gets ``consolidated_metadata`` inline in the root ``zarr.json``.
Walking the folder is fine here: it is local and done once by the publisher. Stale
``.zmetadata`` copies that anndata leaves inside table groups are neither read nor rewritten.

A dataset folder may hold links planted by someone else, so the document is written to a fresh
file (random name, created exclusively, never through a link) and renamed over the target; a
target that is itself a link out of the dataset is refused rather than replaced.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from kit.errors import InvalidMetadata, KitError, NotFound
from kit.io.jsondoc import load_json

V2_NAMES = (".zgroup", ".zattrs", ".zarray")


def consolidate(path: str | os.PathLike) -> Path:
    """Consolidate the metadata of the local dataset at ``path``; returns the file written."""
    root = Path(path)
    if not root.is_dir():
        raise NotFound("not a local dataset folder", where=str(root))
    if (root / "zarr.json").is_file():
        return _consolidate_v3(root)
    if (root / ".zgroup").is_file() or (root / ".zattrs").is_file():
        return _consolidate_v2(root)
    raise NotFound("no zarr.json or .zgroup/.zattrs at the root", where=str(root))


def _read(path: Path) -> dict:
    try:
        doc = load_json(path.read_bytes(), where=str(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMetadata(f"cannot read: {exc}", where=str(path)) from None
    if not isinstance(doc, dict):
        raise InvalidMetadata("expected a JSON object", where=str(path))
    return doc


def _walk(root: Path, names: tuple[str, ...]):
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel = Path(folder).relative_to(root).as_posix()
        for name in sorted(set(files) & set(names)):
            yield ("" if rel == "." else rel), name, Path(folder) / name


def _check_target(root: Path, target: Path) -> None:
    """Refuse a target that is a link leading out of the dataset (someone else's file)."""
    if not target.is_symlink():
        return
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise KitError(f"is a symbolic link to {resolved}, outside the dataset: not replacing it",
                       where=str(target))


def _write_atomic(root: Path, target: Path, doc: dict) -> None:
    """Write ``doc`` to a fresh temporary file beside ``target``, then rename it over ``target``."""
    _check_target(root, target)
    data = json.dumps(doc, indent=2, sort_keys=False).encode()
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)  # rename replaces a link inside the dataset, never its target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _consolidate_v2(root: Path) -> Path:
    metadata = {}
    for rel, name, file in _walk(root, V2_NAMES):
        metadata[f"{rel}/{name}" if rel else name] = _read(file)
    target = root / ".zmetadata"
    _write_atomic(root, target, {"zarr_consolidated_format": 1, "metadata": metadata})
    return target


def _consolidate_v3(root: Path) -> Path:
    top = _read(root / "zarr.json")
    if top.get("node_type") != "group":
        raise InvalidMetadata("the root is not a group", where=str(root / "zarr.json"))
    nodes = {}
    for rel, _, file in _walk(root, ("zarr.json",)):
        if rel:
            doc = _read(file)
            if doc.get("node_type") == "group":
                doc["consolidated_metadata"] = None
            nodes[rel] = doc
    ordered = dict(sorted(nodes.items(), key=lambda kv: (kv[0].count("/"), kv[0])))
    top["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": ordered}
    target = root / "zarr.json"
    _write_atomic(root, target, top)
    return target
