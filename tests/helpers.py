"""Helpers shared by the test files (no tests here): the shared inputs, free ports, served folders.

One copy of each: a fix to how a free port is found or where ../shared lives is made once.
The ``serve`` fixture in conftest.py builds on ``DemoServer`` for per-test servers.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """``shared`` beside the repository (CI), or beside a folder of worktrees holding it."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared").is_dir():
            return (base / "shared").resolve()
    return (REPO.parent / "shared").resolve()


SHARED = _find_shared()
SPEC = SHARED / "ngff-spec"
REAL_PLATE = SHARED / "data" / "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"


def free_port() -> int:
    """A loopback port nobody listens on right now (for "connection refused" and for servers
    that must be told a port before they start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_folder(parent: Path, files: Mapping[str, bytes | str], name: str = "served") -> Path:
    """A folder ``parent/name`` holding ``files`` ({relative path: content}), ready to serve."""
    root = parent / name
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    return root


def schema_validator(version: str, name: str) -> Any:
    """A jsonschema validator for the official NGFF ``name`` schema (``image``, ``strict_plate``...)
    of ``version``, its ``$ref``s resolved among the spec's schemas; skips without them."""
    import pytest

    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    folder = SPEC / version / "schemas"
    if not folder.is_dir():
        pytest.skip(f"official schemas not found at {folder}")
    resources = []
    for f in folder.glob("*.schema"):
        doc = json.loads(f.read_text())
        resources.append((doc["$id"], referencing.Resource.from_contents(
            doc, default_specification=referencing.jsonschema.DRAFT202012)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((folder / f"{name}.schema").read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)
