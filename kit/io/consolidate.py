"""Write consolidated metadata for a local dataset, so a server can hand out a whole
hierarchy's metadata in one request.

This is the one place the kit writes (on explicit request, before publishing): zarr v2 gets a
root ``.zmetadata``; zarr v3 gets ``consolidated_metadata`` inline in the root ``zarr.json``.
Walking the folder is fine here: it is local and done once by the publisher. Stale
``.zmetadata`` copies that anndata leaves inside table groups are neither read nor rewritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kit.errors import InvalidMetadata, NotFound
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


def _write_atomic(target: Path, doc: dict) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False))
    os.replace(tmp, target)


def _consolidate_v2(root: Path) -> Path:
    metadata = {}
    for rel, name, file in _walk(root, V2_NAMES):
        metadata[f"{rel}/{name}" if rel else name] = _read(file)
    target = root / ".zmetadata"
    _write_atomic(target, {"zarr_consolidated_format": 1, "metadata": metadata})
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
    _write_atomic(target, top)
    return target
