"""The tiny protocol between ``run.py`` and a job process (stdlib only: peers import it too).

A job process imports its reader, runs the job once on the local copy of the data (so imports,
lazy imports and thread pools are warm and nothing remote is cached), prints ``ready``, waits
for ``go`` on stdin, runs the job against the server and prints ``result {json}``. The parent
resets the server's request log between ``ready`` and ``go``, so the log holds this run only.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

Job = Callable[[str, bool], Any]  # (source, remote) -> a small JSON-able summary


def serve(jobs: dict[str, Job]) -> None:
    """argv: JOB REMOTE_SOURCE LOCAL_SOURCE. Never raises: errors are reported as JSON."""
    name, remote, local = sys.argv[1:4]
    try:
        job = jobs[name]
        if local != "-":
            job(local, False)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        _reply({"error": "warm-up: " + _short(exc), "trace": traceback.format_exc()[-1500:]})
        return
    print("ready", flush=True)
    sys.stdin.readline()
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        summary = job(remote, True)
    except Exception as exc:  # noqa: BLE001
        _reply({"error": _short(exc), "seconds": time.perf_counter() - t0,
                "trace": traceback.format_exc()[-1500:]})
        return
    _reply({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu0,
            "rss_mb": peak_rss_mb(), "summary": summary})


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (Linux VmHWM; ru_maxrss would carry the parent's
    peak across fork + exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _reply(payload: dict) -> None:
    print("result " + json.dumps(payload, default=str), flush=True)
