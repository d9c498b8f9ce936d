"""Voila + Debian Chromium (driven by Playwright): the one harness of the browser tests and the
viewer benchmark.

``voila_page(workdir, cells, env)`` writes a notebook of ``cells``, serves it with Voila on
127.0.0.1, opens it in headless Chromium and yields the Playwright page; Voila and Chromium are
stopped afterwards, every wait bounded. Nothing here imports the kit (the notebook's kernel
does), so the benchmarks run it as a script and the tests import it (``tests/helpers.py`` puts
this folder on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_MS = 60_000  # one browser step (page load, kernel round trip) may take this long at most
VOILA_START_S = 60.0
NO_FILES = "--VoilaConfiguration.file_allowlist=[]"  # Voila serves no file of the folder


def free_port() -> int:
    """A loopback port nobody listens on right now (for "connection refused" and for servers
    that must be told a port before they start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cell(source: str, cell_id: str | None = None) -> dict:
    """A code cell of ``source`` (not executed)."""
    out = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
           "source": source}
    return out if cell_id is None else out | {"id": cell_id}


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """A Python 3 notebook of ``cells`` (ids ``cell-0``, ``cell-1``, ...) at ``path``."""
    nb = {"cells": [cell(s, f"cell-{i}") for i, s in enumerate(cells)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))
    return path


def jupyter_env(workdir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without the kit's, Jupyter's and the tests' variables, with
    Jupyter's folders (and no netrc) under ``workdir``, no proxy for loopback, and ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NGFF_KIT_", "JUPYTER_", "KIT_TEST_"))}
    env.update({
        "JUPYTER_CONFIG_DIR": str(workdir / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
        "IPYTHONDIR": str(workdir / "ipython"),
        "NETRC": str(workdir / "no-netrc"),
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on 127.0.0.1:{port} within {timeout} s")


@contextlib.contextmanager
def voila(notebook: Path, env: dict[str, str], *, voila_args: Sequence[str] = ()) -> Iterator[int]:
    """Voila serving ``notebook`` on 127.0.0.1 (its log in ``voila.log`` beside it): the port,
    once it listens; stopped afterwards."""
    port = free_port()
    with open(notebook.parent / "voila.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1", *voila_args],
            cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, VOILA_START_S)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def voila_page(workdir: Path, cells: Sequence[str], env: dict[str, str], *,
               name: str = "notebook.ipynb", voila_args: Sequence[str] = (),
               viewport: tuple[int, int] | None = None) -> Iterator[Any]:
    """A Chromium page (Playwright) showing the notebook of ``cells`` in Voila, loaded as far
    as ``domcontentloaded``; the notebook and ``voila.log`` are written in ``workdir``."""
    from playwright.sync_api import sync_playwright

    workdir.mkdir(parents=True, exist_ok=True)
    notebook = write_notebook(workdir / name, cells)
    with voila(notebook, env, voila_args=voila_args) as port, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      timeout=STEP_MS)
        try:
            page = chromium.new_page() if viewport is None else \
                chromium.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(STEP_MS)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            yield page
        finally:
            chromium.close()
