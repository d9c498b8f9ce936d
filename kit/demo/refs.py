"""Builders of refs documents for tests and the demo notebooks: refs documents over a zarr
folder, and LINDI tars.

``folder_refs`` turns a zarr folder into a refs document whose metadata is inline (JSON objects,
as LINDI writes them) and whose chunks are ``[url, offset, length]`` ranges into blobs made by
concatenating the chunk files (one blob per group of keys), like an HDF5 file seen through LINDI.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

METADATA = {".zarray", ".zattrs", ".zgroup", "zarr.json", ".zmetadata"}


def folder_refs(
    root: Path, url_for: Callable[[str], str], blob_of: Callable[[str], str] = lambda key: "blob"
) -> tuple[dict, dict[str, bytes]]:
    """(refs dict without version, {blob name: bytes}); ``url_for(blob name)`` makes the URL."""
    refs: dict = {}
    blobs: dict[str, bytearray] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        if path.name in METADATA:
            if path.name != ".zmetadata":
                refs[key] = json.loads(path.read_text())
            continue
        name = blob_of(key)
        blob = blobs.setdefault(name, bytearray())
        data = path.read_bytes()
        refs[key] = [url_for(name), len(blob), len(data)]
        blob.extend(data)
    return {"refs": refs}, {k: bytes(v) for k, v in blobs.items()}


def _padded(doc: dict, size: int) -> bytes:
    raw = json.dumps(doc).encode()
    if len(raw) > size:
        raise ValueError("a LINDI tar document outgrew its padding")
    return raw + b" " * (size - len(raw))


def write_lindi_tar(path: Path, refs: dict, blobs: dict[str, bytes]) -> Path:
    """A .lindi.tar per LINDI's docs/tar.md: entry (1024 B), index (8 KiB), lindi.json, blobs.

    ``refs`` should name blobs as ``["./blobs/<name>", offset, length]``.
    """
    refs_json = json.dumps(refs).encode()
    refs_size = max(8192, -(-len(refs_json) // 512) * 512)
    names = [".tar_entry.json", ".tar_index.json", "lindi.json"] + [f"blobs/{n}" for n in blobs]
    sizes = [1024, 8192, refs_size] + [len(b) for b in blobs.values()]
    files, offset = [], 0
    for name, size in zip(names, sizes):
        files.append({"n": name, "o": offset, "d": offset + 512, "s": size})
        offset += 512 + -(-size // 512) * 512
    contents = [
        _padded({"index": files[1]}, 1024),
        _padded({"files": files}, 8192),
        refs_json + b" " * (refs_size - len(refs_json)),
        *blobs.values(),
    ]
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in zip(names, contents):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as tar:  # the index must tell the truth
        for entry, member in zip(files, tar.getmembers()):
            found = (member.name, member.offset, member.offset_data)
            if found != (entry["n"], entry["o"], entry["d"]):
                raise RuntimeError(
                    f"LINDI tar index disagrees with the archive: {member} vs {entry}")
    return path
