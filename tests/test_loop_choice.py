"""The kit's loop thread runs uvloop when it is installed, asyncio's loop with NGFF_KIT_UVLOOP=0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROBE = "from kit.io.loop import kit_loop; print(type(kit_loop()).__module__)"


def loop_module(**env: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})
    return done.stdout.strip()


def test_uvloop_when_installed():
    pytest.importorskip("uvloop")
    assert loop_module(NGFF_KIT_UVLOOP="") == "uvloop"


def test_uvloop_off_keeps_asyncio():
    assert loop_module(NGFF_KIT_UVLOOP="0").startswith("asyncio")
