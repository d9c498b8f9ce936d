"""Helpers shared by the test files (no tests here): the shared inputs, free ports, served folders.

One copy of each: a fix to how a free port is found or where ../shared lives is made once.
The ``serve`` fixture in conftest.py builds on ``DemoServer`` for per-test servers. The
benchmarks' folder is put on ``sys.path``: the browser harness (Voila + Chromium,
``benchmarks/browser_harness.py``) and ``free_port`` are the benchmarks' and the tests' both.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from browser_harness import free_port  # noqa: E402 - found through the line above

__all__ = ["REAL_PLATE", "REPO", "SHARED", "SPEC", "free_port", "schema_validator",
           "served_folder"]


def _find_shared() -> Path:
    """``shared`` beside the repository (CI), or beside a folder of worktrees holding it."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared").is_dir():
            return (base / "shared").resolve()
    return (REPO.parent / "shared").resolve()


SHARED = _find_shared()
SPEC = SHARED / "ngff-spec"
REAL_PLATE = SHARED / "data" / "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"


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
