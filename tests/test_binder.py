"""The Binder configuration, built the way repo2docker builds it (without Docker).

repo2docker, given a ``binder/`` folder, uses only that folder: it installs
``binder/requirements.txt`` with pip *from the repository root* (so ``.`` is the kit), runs
``binder/postBuild``, and launches every process through ``binder/start``. This test does the
same in a fresh virtual environment, then runs the quickstart notebook in that environment's
kernel, as a Binder user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"


def test_binder_files_follow_repo2docker_rules():
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    reqs = [ln.split("#")[0].strip() for ln in lines]
    assert any(r == "." or r.startswith(".[") for r in reqs), "the kit itself must be installed"
    post = (BINDER / "postBuild").read_text()
    assert post.startswith("#!") and "set -e" in post
    assert os.access(BINDER / "postBuild", os.X_OK)
    start = (BINDER / "start").read_text().strip().splitlines()
    assert start[-1].strip() == 'exec "$@"' and os.access(BINDER / "start", os.X_OK)
    assert not (REPO / ".binder").exists(), "repo2docker refuses binder/ and .binder/ together"
    assert not (BINDER / "environment.yml").exists(), "it would win over requirements.txt"


def run(cmd: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_binder_build_and_quickstart(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    env_dir, home = tmp_path / "venv", tmp_path / "home"
    home.mkdir()
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    python = str(bin_dir / "python")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NGFF_KIT_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               VIRTUAL_ENV=str(env_dir), PIP_DISABLE_PIP_VERSION_CHECK="1")

    # repo2docker's images bring a current pip (this machine's venv pip is too old to resolve
    # s3fs/aiobotocore/boto3 together); then pip from the repository root, plus the kernel
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], env)
    run([python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt", "ipykernel"], env)
    run([str(BINDER / "postBuild")], env)
    assert (home / "demo-data" / "plate.zarr" / ".zattrs").exists()

    # a kernel of that environment, launched through binder/start as Binder launches everything
    jupyter_path = tmp_path / "jupyter"
    spec = jupyter_path / "kernels" / "binder-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(BINDER / "start"), python, "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "binder venv", "language": "python", "env": env,
    }))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(jupyter_path)
    try:
        nb = nbformat.read(REPO / "notebooks" / "01_quickstart.ipynb", as_version=4)
        probe = "import os, sys; print('PROBE', sys.prefix, os.environ.get('NGFF_KIT_DEMO_DATA'))"
        nb.cells.append(nbformat.v4.new_code_cell(probe))
        nbclient.NotebookClient(nb, timeout=300, kernel_name="binder-venv",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
    text = nbformat.writes(nb)
    assert "image/png" in text and "server stopped" in text
    # the kernel ran in the Binder venv and used the data postBuild made (via binder/start)
    probe_out = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert f"PROBE {env_dir} {home / 'demo-data'}" in probe_out, probe_out
