"""The peers' virtualenv (ngio and ome-zarr-py), created once and cached.

ngio pins pandas<3 (through anndata), so the peers never share the kit's venv. The venv lives
under ``$NGFF_KIT_BENCH_CACHE`` (default ~/.cache/ngff-kit-bench)/peers and is built with
``python -m venv`` + ``pip install ngio ome-zarr fsspec[http]`` the first time (network needed
once); later runs reuse it. ``versions()`` says which peer versions were measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGES = ["ngio", "ome-zarr", "fsspec[http]"]
PROBE = "import ngio, ome_zarr, fsspec.implementations.http"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "ngff-kit-bench"
    return Path(os.environ.get("NGFF_KIT_BENCH_CACHE", default))


def peers_python(cache: Path | None = None) -> Path:
    """The python of the cached peers venv, created on first use."""
    venv = (cache or cache_dir()) / "peers"
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", PROBE], capture_output=True).returncode == 0:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"creating the peers' venv in {venv} (pip install {' '.join(PACKAGES)}) ...",
          file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def versions(python: Path) -> dict[str, str]:
    code = ("import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in "
            "['ngio', 'ome-zarr', 'zarr', 'fsspec', 'dask']}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
