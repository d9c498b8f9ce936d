"""The classroom load test runs (``benchmarks/classroom.py --quick``): every run without an
error, the warm second run with no upstream request, a restarted relay answered from its disk
cache (the upstream sees only revalidations), the relay cheaper for the upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_classroom_quick_run(tmp_path):
    out = tmp_path / "classroom.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "classroom.py"), "--quick",
                           "--json", str(out)], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    for run in ("one", "class", "warm", "restart", "burst", "direct_one", "direct"):
        assert result[run]["errors"] == [], (run, result[run]["errors"])
    assert result["warm"]["upstream_requests"] == 0
    assert result["class"]["upstream_requests"] == result["one"]["upstream_requests"]
    assert result["class_vs_one_student"] <= 1.2
    assert result["restart"]["upstream_304"] > 0  # revalidated, not fetched again
    assert result["restart"]["upstream_total"] < result["one"]["upstream_total"]
    assert result["class_vs_one_student_direct"] < 2  # a small plate: the walk is most of it
    assert result["class"]["relay_cpu_ms_per_request"] > 0
