"""Every tutorial notebook runs top to bottom, offline, and its saved file holds no secret.

The executed copies in docs/notebooks/ (for readers of the repository) are checked against the
sources without running anything; regenerating them is a slow test. The learner's exercise
notebook is run to show its checks fail with a one-line hint; the solutions run clean.

Executed with nbclient as CI tools do (``store_widget_state=True``, so widget state is saved),
in a kernel of this very Python (a kernelspec written into a temp JUPYTER_PATH: works in a
fresh CI venv without ``ipykernel install``). The demo password, token and S3 secret are pinned
through environment variables so the saved notebook can be searched for them.
"""

from __future__ import annotations

import importlib.util
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
DOCS = REPO / "docs" / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LEARNER, SOLUTIONS = "05_teaching_exercises.ipynb", "05_teaching_solutions.ipynb"
PRESIGNED = re.compile(r"X-Amz-Signature|X-Amz-Credential|X-Goog-Signature|[?&]Signature=", re.I)
KERNEL = "ngff-kit-test"


def load_build():
    """notebooks/build.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("ngff_kit_nb_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


build = load_build()


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
                     LEARNER, SOLUTIONS, "06_real_fractal_plate.ipynb"]
    assert sorted(build.NOTEBOOKS) == NAMES
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
    """One list of exercises, two notebooks: empty answers for the learner, solutions apart."""
    learner = nbformat.read(NOTEBOOKS / LEARNER, as_version=4)
    solved = nbformat.read(NOTEBOOKS / SOLUTIONS, as_version=4)
    tags = lambda nb, tag: [c for c in nb.cells if tag in c.metadata.get("tags", [])]  # noqa: E731
    answers, solutions = tags(learner, "answer"), tags(solved, "solution")
    checks = [c for c in learner.cells if c.cell_type == "code" and c.source.startswith("# check")]
    assert len(answers) == len(solutions) == len(checks) >= 5
    assert all("expect(" in c.source and "answered(" in c.source for c in checks)
    assert all("= ..." in c.source for c in answers), "every answer cell is left to the learner"
    assert not tags(learner, "solution") and not tags(solved, "answer"), "no solution leaks in"
    assert not any("= ..." in c.source for c in solutions)
    # the rest of the two notebooks is the same (checks included), but the introduction
    same = [(a.source, b.source) for a, b in zip(learner.cells, solved.cells, strict=True)
            if "answer" not in a.metadata.get("tags", [])]
    assert sum(a != b for a, b in same) == 1 and same[0][0] != same[0][1]


def test_real_data_notebook_reads_through_one_server_cell():
    """06 fetches everything through `url` from one tagged cell, so a relay can replace it."""
    nb = nbformat.read(NOTEBOOKS / "06_real_fractal_plate.ipynb", as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    servers = [c for c in code_cells if "server" in c.metadata.get("tags", [])]
    assert len(servers) == 1 and servers[0] is code_cells[0]
    assert re.search(r"^url = ", servers[0].source, re.M) and "subset_path()" in servers[0].source
    for cell in code_cells[1:-1]:  # the last one stops the local server
        assert "server" not in cell.source and "DemoServer" not in cell.source, cell.source
        assert "127.0.0.1" not in cell.source and "subset_path" not in cell.source
    assert any("kit.open(url)" in c.source for c in code_cells[1:])


def test_exercise_checks_read_as_one_line():
    from kit.demo.exercises import NotYet, answered, expect

    answered("Task 1", 3, "x")  # answered: passes
    with pytest.raises(NotYet, match="Task 1: not answered yet") as info:
        answered("Task 1", 3, ...)
    assert isinstance(info.value, AssertionError)
    assert info.value._render_traceback_() == [f"✗ {info.value}"]
    expect(True, "never shown")
    with pytest.raises(NotYet, match=r"^Task 2: hint$"):
        expect(0, "Task 2: hint")


def test_learner_checks_fail_with_a_hint(kernel_env, tmp_path):
    """Run as handed out, every check stops with its one-line hint, nothing else goes wrong;
    a wrong answer gets its own hint, a right one passes."""
    handout = nbformat.read(NOTEBOOKS / LEARNER, as_version=4)
    answers = [c for c in handout.cells if "answer" in c.metadata.get("tags", [])]
    answers[0].source = "n_wells = 6   # wrong: the grid has an empty position"
    answers[-1].source = build.EXERCISES[-1].solution  # Task 6 answered right
    nbformat.write(handout, tmp_path / LEARNER)
    nb = build.execute(tmp_path / LEARNER, kernel_name=KERNEL)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    checks = [c for c in code_cells if "check" in c.metadata.get("tags", [])]
    hints = [[o.traceback for o in c.outputs if o.output_type == "error"] for c in checks]
    assert hints[0] == [["✗ Task 1: not quite - one position of the 2x3 grid is empty "
                         "(hint: plate.wells)"]]
    assert hints[1:-1] == [
        [[f"✗ Task {i}: not answered yet - replace the ... in the cell above with your answer"]]
        for i in range(2, len(checks))]
    assert hints[-1] == [] and "Task 6 ok" in checks[-1].outputs[0].text
    assert all(o.ename == "NotYet" for c in checks for o in c.outputs if o.output_type == "error")
    others = [o for c in code_cells if c not in checks for o in c.outputs
              if o.output_type == "error"]
    assert not others, [o.ename for o in others]
    text = nbformat.writes(nb)
    assert "server stopped" in text
    assert_no_secret(text, list(kernel_env.values()))


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n != LEARNER])
def test_notebook_runs_offline_and_saves_no_secret(name, kernel_env, tmp_path):
    nb = execute(NOTEBOOKS / name, tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
    text = nbformat.writes(nb)
    assert_no_secret(text, list(kernel_env.values()))
    real = name.startswith("06")  # 06 reads through a classroom relay in front of the archive
    assert ("classroom relay: http://127.0.0.1:" if real else "demo server: http://127.0.0.1:") \
        in text
    assert ("relay and archive stopped" if real else "server stopped") in text
    if name.startswith("01"):
        assert "image/png" in text  # the previews were drawn
        assert "application/vnd.jupyter.widget-state+json" in text  # widget state was saved...
    if name.startswith("02"):
        assert "AuthenticationError" in text  # ...and searched: the login widget is in it
    if name.startswith("04"):  # the DANDI-like exchange ran: token refused without, none at S3
        assert "without a token: AuthenticationError" in text
        assert re.search(r"exchanges at the API: [1-9]", text)
        assert re.search(r"reads from S3: [1-9]\d* - of them carrying a token: 0", text)
    if name == SOLUTIONS:  # every check passed
        assert all(f"Task {i} ok" in text for i in range(1, 7))
    if name.startswith("06"):  # the real plate: overview, field with labels, table, map
        assert text.count("image/png") >= 3
        assert "1498 nuclei measured" in text


# -- the executed copies in docs/notebooks ------------------------------------------------------

# what a machine-specific or secret value looks like in a saved notebook
MACHINE = re.compile(r"/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\Users")
DEMO_SECRET = re.compile(r"\b(password|token|secret)-[A-Za-z0-9_-]{16,}")
CREDENTIAL = re.compile(r"(?i)authorization:|\bbearer\s+[a-z0-9._~+/-]{16,}|"
                        r"\bbasic\s+[a-z0-9+/]{16,}=*|AKIA[0-9A-Z]{16}|aws_secret_access_key")


DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")  # thumbnails in HTML cards


def texts_of(nb) -> str:
    """Every text a reader sees in the outputs (pictures' base64 left out)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts += [out.get("text", ""), *out.get("traceback", []), out.get("evalue", "")]
            parts += [v if isinstance(v, str) else json.dumps(v)
                      for k, v in out.get("data", {}).items() if not k.startswith("image/")]
    return DATA_URI.sub("data:", "\n".join(parts))


def check_copy(copy, source, name: str) -> None:
    assert [(c.cell_type, c.source) for c in copy.cells] == [
        (c.cell_type, c.source) for c in source.cells], (
        f"docs/notebooks/{name} is stale: run python notebooks/build.py --execute")
    for i in build.preview_cells(source):
        assert any("image/png" in o.get("data", {}) for o in copy.cells[i].outputs), (name, i)
    outputs = [o for c in copy.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, f"{name}: stored without outputs"
    errors = [o for o in outputs if o.output_type == "error"]
    assert all(o.ename == "NotYet" for o in errors) and (bool(errors) == (name == LEARNER))
    if name == LEARNER:  # one hint per check, shown as one line
        checks = [c for c in copy.cells if "check" in c.metadata.get("tags", [])]
        assert [[o.traceback for o in c.outputs] for c in checks] == [
            [[f"✗ Task {i}: not answered yet - replace the ... in the cell above with your answer"]]
            for i in range(1, len(checks) + 1)]
    text = texts_of(copy)
    assert not MACHINE.search(text), (name, MACHINE.search(text).group(0))
    assert not DEMO_SECRET.search(text) and not CREDENTIAL.search(text), name
    assert not PRESIGNED.search(text)
    ports = set(re.findall(r"(?:127\.0\.0\.1|localhost):(\d+)", text))
    assert ports <= {str(p) for p in range(8001, 8010)}, (name, ports)
    assert "widgets" not in copy.metadata
    assert all("execution" not in c.metadata for c in copy.cells)


@pytest.mark.parametrize("name", NAMES)
def test_docs_copies_match_sources(name):
    """Readable before run: each stored copy has the source's cells, pictures, no secret."""
    copy = nbformat.read(DOCS / name, as_version=4)
    check_copy(copy, nbformat.read(NOTEBOOKS / name, as_version=4), name)


def test_docs_index_links_every_copy():
    index = (DOCS / "README.md").read_text()
    assert index == build.docs_index()
    assert all(f"]({name})" in index for name in NAMES)
    assert sorted(p.name for p in DOCS.glob("*.ipynb")) == NAMES


def test_stabilise_replaces_what_differs_between_machines():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    png = "iVBORw0KGgo/tmp/work/AAAA"  # base64 may hold any of these by chance: left alone
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", text=f"demo server: http://127.0.0.1:41234/ and "
                                              f"http://127.0.0.1:5555/ then :41234 again "
                                              f"http://127.0.0.1:41234/x {build.HERE}/a "
                                              "<object at 0x7f3a2b1c9d80>\n"),
        nbformat.v4.new_output("stream", text="more\n"),  # one stream, however it arrived
        nbformat.v4.new_output("display_data", data={
            "image/png": png, "text/plain": "<Plate '/tmp/ngff-kit-abc123/plate.zarr'>",
            build.WIDGET_VIEW: {"model_id": "abc"}})]
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-12-01T22:00:00"}
    out = build.stabilise(nb).cells[0]
    assert out.outputs[0].text == ("demo server: http://127.0.0.1:8001/ and http://127.0.0.1:8002/"
                                   " then :41234 again http://127.0.0.1:8001/x <repo>/notebooks/a"
                                   " <object at 0x...>\nmore\n")
    assert len(out.outputs) == 2
    assert out.outputs[-1].data == {"image/png": png, "text/plain": "<Plate '<tmp>/plate.zarr'>"}
    assert "execution" not in out.metadata


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_docs_copies_regenerate(kernel_env, tmp_path):
    """``render_docs`` (python notebooks/build.py --execute) remakes copies like the stored ones."""
    written = build.render_docs(tmp_path, kernel_name=KERNEL)
    assert sorted(p.name for p in written) == NAMES
    assert (tmp_path / "README.md").read_text() == (DOCS / "README.md").read_text()
    for name in NAMES:
        fresh = nbformat.read(tmp_path / name, as_version=4)
        check_copy(fresh, nbformat.read(NOTEBOOKS / name, as_version=4), name)
        stored = nbformat.read(DOCS / name, as_version=4)
        kinds = lambda nb: [[(o.output_type, sorted(o.get("data", {}))) for o in c.outputs]  # noqa: E731
                            for c in nb.cells if c.cell_type == "code"]
        assert kinds(fresh) == kinds(stored), f"{name}: the stored outputs are stale"
        assert_no_secret(nbformat.writes(fresh), list(kernel_env.values()))


# -- the real-data subset --------------------------------------------------------------------


def test_real_subset_is_small_and_opens():
    import kit
    from kit.demo.real import IMAGE_LEVELS, TABLES, subset_path

    root = subset_path()
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 3_000_000
    plate = kit.open(root)
    assert sorted(plate.wells) == ["B/03"] and plate.columns == ["03", "05"]
    image = plate["B/03/0"]
    assert [lv.path for lv in image.levels] == list(IMAGE_LEVELS)
    assert list(image.labels) == ["nuclei"] and list(image.tables) == list(TABLES)
    assert len(image.tables["measurements"].to_pandas()) == 1498


def test_real_subset_rebuilds_from_the_original(real_plate, tmp_path):
    """write_subset reproduces the shipped subset; every array equals the original's."""
    import numpy as np
    import zarr

    from kit.demo.real import subset_path, write_subset

    shipped = subset_path()
    rebuilt = write_subset(real_plate, tmp_path / "subset.zarr")
    files = lambda root: sorted(p.relative_to(root).as_posix()  # noqa: E731
                                for p in root.rglob("*") if p.is_file())
    assert files(rebuilt) == files(shipped) != []
    for meta in (p for p in files(shipped) if p.rsplit("/", 1)[-1].startswith(".z")):
        assert (rebuilt / meta).read_text() == (shipped / meta).read_text(), meta
    arrays = [p[: -len("/.zarray")] for p in files(shipped) if p.endswith("/.zarray")]
    assert len(arrays) > 10
    for key in arrays:
        original = zarr.open_array(real_plate / key, mode="r")[...]
        copy = zarr.open_array(shipped / key, mode="r")[...]
        assert original.dtype == copy.dtype and original.shape == copy.shape, key
        assert np.array_equal(original, copy), key
