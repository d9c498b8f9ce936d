"""Every tutorial notebook runs top to bottom, offline, and its saved file holds no secret.

Executed with nbclient as CI tools do (``store_widget_state=True``, so widget state is saved),
in a kernel of this very Python (a kernelspec written into a temp JUPYTER_PATH: works in a
fresh CI venv without ``ipykernel install``). The demo password, token and S3 secret are pinned
through environment variables so the saved notebook can be searched for them.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
PRESIGNED = re.compile(r"X-Amz-Signature|X-Amz-Credential|X-Goog-Signature|[?&]Signature=", re.I)
KERNEL = "ngff-kit-test"


def write_kernelspec(root: Path, python: str) -> Path:
    """A kernelspec named ``KERNEL`` that starts ``python``'s ipykernel; returns JUPYTER_PATH."""
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ngff-kit (tests)", "language": "python",
    }))
    return root


def pinned_secrets() -> dict[str, str]:
    return {"NGFF_KIT_DEMO_PASSWORD": "pw-" + secrets.token_urlsafe(12),
            "NGFF_KIT_DEMO_TOKEN": "tok-" + secrets.token_urlsafe(16),
            "NGFF_KIT_DEMO_S3_SECRET": "s3-" + secrets.token_urlsafe(20)}


def execute(path: Path, cwd: Path, timeout: int = 240):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL,
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def assert_no_secret(text: str, secret_values: list[str]) -> None:
    for value in secret_values:
        assert value not in text, "a secret is in the saved notebook"
    assert not PRESIGNED.search(text), "a presigned URL signature is in the saved notebook"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A private kernelspec, clean credential variables, pinned demo secrets."""
    monkeypatch.setenv("JUPYTER_PATH", str(write_kernelspec(tmp_path / "jupyter", sys.executable)))
    for var in ("NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "NGFF_KIT_PASSWORD", "NGFF_KIT_DEMO_DATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    pinned = pinned_secrets()
    for k, v in pinned.items():
        monkeypatch.setenv(k, v)
    return pinned


def test_notebooks_exist_and_are_stored_without_outputs():
    assert NAMES == ["01_quickstart.ipynb", "02_authenticated_http_and_s3.ipynb",
                     "03_plates_labels_tables.ipynb", "04_lindi_dandi_refs.ipynb",
                     "05_teaching_exercises.ipynb"]
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name
        assert "widgets" not in nb.metadata, name
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert "DemoServer(" in first_code.source and "auth=" in first_code.source
        assert "server.stop()" in nb.cells[-1].source


def test_notebooks_match_their_generator(tmp_path):
    """The committed .ipynb files are exactly what notebooks/build.py writes."""
    subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in NAMES:
        assert (tmp_path / name).read_text() == (NOTEBOOKS / name).read_text(), (
            f"{name} is stale: run python notebooks/build.py")


def test_exercises_have_solutions_and_checks():
    nb = nbformat.read(NOTEBOOKS / "05_teaching_exercises.ipynb", as_version=4)
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# check")]
    assert len(solutions) == len(checks) >= 5
    assert all("assert " in c.source for c in checks)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline_and_saves_no_secret(name, kernel_env, tmp_path):
    nb = execute(NOTEBOOKS / name, tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
    text = nbformat.writes(nb)
    assert_no_secret(text, list(kernel_env.values()))
    assert "demo server: http://127.0.0.1:" in text
    assert "server stopped" in text
    if name.startswith("01"):
        assert "image/png" in text  # the previews were drawn
        assert "application/vnd.jupyter.widget-state+json" in text  # widget state was saved...
    if name.startswith("02"):
        assert "AuthenticationError" in text  # ...and searched: the login widget is in it
    if name.startswith("04"):  # the DANDI-like exchange ran: token refused without, none at S3
        assert "without a token: AuthenticationError" in text
        assert re.search(r"exchanges at the API: [1-9]", text)
        assert re.search(r"reads from S3: [1-9]\d* - of them carrying a token: 0", text)
