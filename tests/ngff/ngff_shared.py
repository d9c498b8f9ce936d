"""Helpers for the ngff tests: locate ../shared and turn its files into pytest parameters.

Parametrisation happens at collection time, before fixtures exist, so the path comes from
tests/helpers.py, as for tests/conftest.py (the sibling folder `shared`). When it is
absent every parametrised test becomes one clean skip with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REAL_PLATE, SHARED, SPEC  # noqa: F401 - one place finds ../shared


def absent_reason(path: Path) -> str:
    return f"{path} is absent (the shared inputs sit beside the repository in CI)"


def load_json(path: Path) -> dict:
    """JSON with the spec's `//` comment lines stripped (as the spec's own test runner does)."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("//")]
    return json.loads("\n".join(lines))


def file_params(root: Path, pattern: str) -> list:
    """One pytest.param per file (id relative to root), or one skipped param if root is absent."""
    if not root.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=absent_reason(root)),
                             id="shared-absent")]
    files = sorted(p for p in root.glob(pattern) if p.is_file() and not p.name.startswith("."))
    assert files, f"no files match {pattern} under {root}"
    return [pytest.param(p, id=str(p.relative_to(root))) for p in files]
