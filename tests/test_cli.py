"""The ``ngff-kit`` command, called in-process as ``kit.cli.main([...])``, plus a few smoke tests
of the installed script in a real subprocess (entry point, ``--version``, one exit code).

What is checked: the demo's PNGs and what it says about them, the password staying off the
terminal unless the user asked to keep serving, ``info``/``preview`` on the real plate, ``serve``
reached with the printed login, ``consolidate``, every documented exit code with its one-line
message (never a traceback), warnings as one line, and options the data cannot honour refused.
"""

from __future__ import annotations

import importlib.metadata
import json
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import free_port

import kit
from kit.cli import main
from kit.demo.generate import write_image, write_plate
from kit.demo.server import DemoServer

BIN = Path(sys.executable).parent / "ngff-kit"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.usefixtures("no_machine_credentials")


@dataclass
class Result:
    """What one ``ngff-kit`` run gave: the exit code and its stdout/stderr."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def _no_demo_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NGFF_KIT_DEMO_PASSWORD", raising=False)


@pytest.fixture
def run(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """``run(*args, env={...})``: ``main(args)`` in this process with ``env`` set for that call."""

    def call(*args: object, env: dict[str, str] | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            for name, value in (env or {}).items():
                m.setenv(name, value)
            code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def warning_lines(result: Result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("ngff-kit: warning:")]


def assert_one_line_error(result: Result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("ngff-kit: warning:")]
    assert len(lines) == 1 and lines[0].startswith("ngff-kit: error: "), result.stderr
    return lines[0]


class Serving:
    """``ngff-kit serve`` (or ``demo --keep-serving``) run by ``main`` on a thread.

    ``DemoServer.serve_forever`` is wrapped (not replaced) to hand the real server over once
    everything has been printed; ``stop()`` ends it as Ctrl-C would and returns the exit code.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                 *args: object, timeout: float = 240):
        self.capsys, self._servers = capsys, queue.Queue()
        forever = DemoServer.serve_forever

        def handing_over(server: DemoServer) -> None:
            self._servers.put(server)
            forever(server)

        monkeypatch.setattr(DemoServer, "serve_forever", handing_over)
        self.code: list[int] = []
        capsys.readouterr()
        argv = [str(a) for a in args]
        self._thread = threading.Thread(target=lambda: self.code.append(main(argv)), daemon=True)
        self._thread.start()
        try:
            self.server: DemoServer = self._servers.get(timeout=timeout)
        except queue.Empty:
            said = capsys.readouterr()
            raise AssertionError(f"the command did not start serving: {said}") from None
        out, self.stderr = capsys.readouterr()
        self.lines = out.splitlines()

    def find(self, pattern: str) -> re.Match:
        for line in self.lines:
            if m := re.search(pattern, line):
                return m
        raise AssertionError(f"no line matching {pattern!r}; output: {self.lines}")

    def stop(self) -> int:
        self.server.stop()
        self._thread.join(30)
        assert not self._thread.is_alive()
        return self.code[0]


def open_with_env(url: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> kit.Plate:
    """Open the URL with credentials from the environment only (as another process would)."""
    with monkeypatch.context() as m:
        for name, value in env.items():
            m.setenv(name, value)
        return kit.open(url)


# -- demo -----------------------------------------------------------------------------------


def test_demo_writes_pictures_and_never_prints_the_password(tmp_path, run):
    password = secrets.token_urlsafe(12)
    out = tmp_path / "demo"
    result = run("demo", "--out", out, env={"NGFF_KIT_DEMO_PASSWORD": password})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    text = result.stdout + result.stderr
    assert password not in text
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} == {"preview_B_03_0.png", "plate_overview.png"}
    for png in pngs:
        assert str(png) in result.stdout  # the output says where each picture is
        assert password not in str(png)
        w, h = png_size(png)
        assert 64 <= w <= 1024 and 64 <= h <= 1024, (png, w, h)
    assert png_size(out / "preview_B_03_0.png") == (512, 512)
    assert re.search(r"HTTP requests: \d+", result.stdout)
    # the tree, as `info` prints it
    for needle in ("plate 2x3", "well B/03", "level 2: shape (3, 3, 128, 128) uint16",
                   "label nuclei", "table nuclei_features (feature_table"):
        assert needle in result.stdout, needle
    assert (out / "plate.zarr" / ".zattrs").exists()


@pytest.mark.slow
def test_demo_no_serve_only_generates(tmp_path, run):
    result = run("demo", "--out", tmp_path, "--version", "0.5", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plate.zarr" / "zarr.json").exists()
    assert not list(tmp_path.glob("*.png"))
    assert "password" not in result.stdout.lower()


@pytest.mark.slow
def test_demo_keep_serving_prints_the_login_once(tmp_path, monkeypatch, capsys):
    password = secrets.token_urlsafe(12)
    monkeypatch.setenv("NGFF_KIT_DEMO_PASSWORD", password)
    bg = Serving(monkeypatch, capsys, "demo", "--out", tmp_path, "--keep-serving")
    try:
        url = bg.find(r"Still serving (http://\S+)").group(1)
        m = bg.find(r"user: (\S+)\s+password: (\S+)")
        assert m.group(2) == password
        assert sum(password in ln for ln in bg.lines) == 1  # shown once, and only there
        assert any("kit.login(" in ln for ln in bg.lines)
        monkeypatch.delenv("NGFF_KIT_DEMO_PASSWORD")
        plate = open_with_env(url, monkeypatch, NGFF_KIT_USERNAME=m.group(1),
                              NGFF_KIT_PASSWORD=m.group(2), NGFF_KIT_ORIGINS=url)
        assert type(plate).__name__ == "Plate"
    finally:
        assert bg.stop() == 0
    assert password not in bg.stderr + capsys.readouterr().err


# -- info and preview on the real plate -----------------------------------------------------


def test_info_real_plate(real_plate, run):
    result = run("info", real_plate)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ("plate 1x2", "well B/03", "well B/05", "channels: DAPI",
                   "level 0: shape (3, 1, 2160, 5120) uint16", "level 4: shape (3, 1, 135, 320)",
                   "label nuclei", "table FOV_ROI_table (roi_table",
                   "table measurements (feature_table"):
        assert needle in out, needle


def test_info_json_real_plate(real_plate, run):
    result = run("info", real_plate, "--json")
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    assert tree["type"] == "plate" and [w["path"] for w in tree["wells"]] == ["B/03", "B/05"]
    image = tree["wells"][0]["images"][0]
    assert image["axes"] == ["c", "z", "y", "x"]
    assert len(image["levels"]) == 5 and image["levels"][0]["dtype"] == "uint16"
    assert image["levels"][0]["scale"][-1] == pytest.approx(0.1625)
    assert {t["name"]: t["kind"] for t in image["tables"]}["measurements"] == "feature_table"
    assert [lab["name"] for lab in image["labels"]] == ["nuclei"]


def test_preview_real_plate_image(real_plate, tmp_path, run):
    out = tmp_path / "sub" / "field.png"
    result = run("preview", real_plate / "B" / "03" / "0", "-o", out, "--labels", "nuclei",
                 "--channels", "DAPI", "1", "--size", "256")
    assert result.returncode == 0, result.stderr
    w, h = png_size(out)
    assert max(w, h) == 256 and min(w, h) > 50
    assert str(out) in result.stdout


@pytest.fixture(scope="module")
def tczyx(tmp_path_factory) -> Path:
    return write_image(tmp_path_factory.mktemp("img") / "img.zarr", axes="tczyx",
                       shape=(2, 2, 3, 64, 64), levels=2)


@pytest.fixture(scope="module")
def czyx(tmp_path_factory) -> Path:
    return write_image(tmp_path_factory.mktemp("img") / "img.zarr", axes="czyx",
                       shape=(2, 3, 64, 64), levels=2)


def test_preview_level_and_plane_options(tczyx, tmp_path, run):
    out = tmp_path / "p.png"
    result = run("preview", tczyx, "-o", out, "--z", "2", "--t", "1", "--level", "1")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (32, 32)
    bad = run("preview", tczyx, "-o", out, "--z", "9")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    line = assert_one_line_error(bad, 2)
    assert "--z 9" in line and "0-2" in line


def test_preview_colors_and_gamma(czyx, tmp_path, run):
    from matplotlib.image import imread

    out = tmp_path / "red.png"
    result = run("preview", czyx, "-o", out, "--channels", "0", "--colors", "ff0000",
                 "--gamma", "0.5", "--no-annotate")
    assert result.returncode == 0, result.stderr
    rgb = imread(out)[..., :3]
    assert rgb[..., 0].max() > 0 and rgb[..., 1].max() == 0 and rgb[..., 2].max() == 0
    bad = run("preview", czyx, "-o", out, "--colors", "reddish")
    line = assert_one_line_error(bad, 2)
    assert "colour" in line and "reddish" in line
    assert assert_one_line_error(run("preview", czyx, "-o", out, "--gamma", "0"), 2)


# -- issue 18: options the data cannot honour are usage errors, said in one line ------------


@pytest.mark.parametrize("size", ["0", "-5", "big"])
def test_size_must_be_positive(czyx, tmp_path, run, size):
    out = tmp_path / "p.png"
    result = run("preview", czyx, "-o", out, "--size", size)
    assert result.returncode == 2
    assert "--size" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # no 1x1 picture


def test_t_on_an_image_without_t_is_refused(czyx, tmp_path, run):
    out = tmp_path / "p.png"
    line = assert_one_line_error(run("preview", czyx, "-o", out, "--t", "3"), 2)
    assert "--t 3" in line and "no t axis" in line and "czyx" in line
    assert not out.exists()


def test_t_past_the_last_time_point_is_refused(tczyx, tmp_path, run):
    line = assert_one_line_error(run("preview", tczyx, "-o", tmp_path / "p.png", "--t", "2"), 2)
    assert "--t 2" in line and "0-1" in line


@pytest.mark.parametrize("name", ["x.jpg", "x.jpeg", "x", "x.png.gz"])
def test_output_other_than_png_is_refused(czyx, tmp_path, run, name):
    out = tmp_path / name
    line = assert_one_line_error(run("preview", czyx, "-o", out), 2)
    assert "PNG" in line and ".png" in line
    assert not out.exists()  # no PNG bytes under a .jpg name


def test_uppercase_png_suffix_is_fine(czyx, tmp_path, run):
    out = tmp_path / "X.PNG"
    assert run("preview", czyx, "-o", out).returncode == 0
    assert png_size(out) == (64, 64)


def test_level_past_the_last_is_a_usage_error(czyx, tmp_path, run):
    line = assert_one_line_error(run("preview", czyx, "-o", tmp_path / "p.png", "--level", "9"), 2)
    assert "--level 9" in line and "2 level(s)" in line


def test_level_on_a_plate_overview_is_refused(tmp_path, run):
    plate = write_plate(tmp_path / "p.zarr", rows="B", columns=("03",))
    line = assert_one_line_error(run("preview", plate, "-o", tmp_path / "p.png", "--level", "0"), 2)
    assert "plate" in line


def test_previewing_a_group_is_a_usage_error(czyx, tmp_path, run):
    line = assert_one_line_error(run("preview", czyx / "labels", "-o", tmp_path / "p.png"), 2)
    assert "not a picture" in line and "nuclei" in line  # names what could be previewed


def test_port_in_use_is_a_usage_error(tmp_path, run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = assert_one_line_error(run("serve", tmp_path, "--port", port), 2)
    assert str(port) in line and "in use" in line and "--port" in line


@pytest.mark.parametrize("port", ["-1", "70000", "http"])
def test_port_out_of_range_is_a_usage_error(tmp_path, run, port):
    result = run("serve", tmp_path, "--port", port)
    assert result.returncode == 2 and "--port" in result.stderr


# -- issue 18: what info says ---------------------------------------------------------------


def test_info_says_which_wells_could_not_be_read(tmp_path, run):
    plate = write_plate(tmp_path / "p.zarr", rows="B", columns=("03", "05"))
    (plate / "B" / "03" / ".zattrs").unlink()  # the well's metadata is gone, its folder stays
    result = run("info", plate)
    assert result.returncode == 0, result.stderr
    (warning,) = warning_lines(result)
    assert "B/03" in warning and "1 of 2" in warning
    assert "1 of 2 listed wells readable" in result.stdout and "well B/05" in result.stdout


def test_info_missing_well_folder_is_said_once(tmp_path, run):
    plate = write_plate(tmp_path / "p.zarr", rows="B", columns=("03", "05"))
    shutil.rmtree(plate / "B" / "05")
    result = run("info", plate)
    assert result.returncode == 0, result.stderr
    (warning,) = warning_lines(result)
    assert "B/05" in warning


def test_warnings_are_one_line_without_file_and_line(tmp_path, run):
    plate = write_plate(tmp_path / "p.zarr", rows="B", columns=("03", "05"))
    shutil.rmtree(plate / "B" / "05")
    result = run("info", plate)
    assert len(warning_lines(result)) == 1
    assert result.stderr.strip().splitlines() == warning_lines(result)
    assert "KitWarning" not in result.stderr and ".py:" not in result.stderr


def test_bare_v2_array_is_reported_as_an_array(tmp_path, run):
    import zarr

    path = tmp_path / "a.zarr"
    zarr.create_array(path, shape=(40, 50), chunks=(20, 25), dtype="uint16", zarr_format=2)
    result = run("info", path)
    assert result.returncode == 0, result.stderr
    assert "array (40, 50) uint16 chunks (20, 25)" in result.stdout
    assert "group" not in result.stdout
    tree = json.loads(run("info", path, "--json").stdout)
    got = (tree["type"], tree["shape"], tree["dtype"], tree["chunks"])
    assert got == ("array", [40, 50], "uint16", [20, 25])


def test_bare_v3_array_is_named_an_array(tmp_path, run):
    import zarr

    path = tmp_path / "a.zarr"
    zarr.create_array(path, shape=(4, 5), chunks=(2, 2), dtype="uint8", zarr_format=3)
    line = assert_one_line_error(run("info", path), 5)
    assert "array" in line


def test_group_members_show_array_chunks(tmp_path, run):
    import zarr

    root = zarr.open_group(tmp_path / "g.zarr", mode="w", zarr_format=2)
    root.create_array("raw", shape=(8, 6), chunks=(4, 3), dtype="float32")
    result = run("info", tmp_path / "g.zarr")
    assert result.returncode == 0, result.stderr
    assert "raw  array (8, 6) float32 chunks (4, 3)" in result.stdout


def test_preview_of_only_fill_value_warns(tmp_path, run):
    image = write_image(tmp_path / "img.zarr", axes="czyx", shape=(2, 1, 64, 64), levels=1,
                        labels=())
    for chunk in (image / "0").rglob("*"):
        if chunk.is_file() and not chunk.name.startswith("."):
            chunk.unlink()
    result = run("preview", image, "-o", tmp_path / "p.png")
    assert result.returncode == 0, result.stderr
    (warning,) = warning_lines(result)
    assert "fill value" in warning and "no data stored there" in warning


# -- preview options are one RenderSpec ------------------------------------------------------


def library_png(tmp_path: Path, node_path: Path, **options: Any) -> bytes:
    """The PNG bytes kit.preview gives for the same options (what the CLI must write; the
    CLI annotates unless told not to)."""
    from kit.render import RenderSpec, preview, save_png

    options.setdefault("annotate", True)

    out = tmp_path / "library.png"
    save_png(preview(kit.open(node_path), spec=RenderSpec(**options)), out)
    return out.read_bytes()


def test_label_style_fill_is_the_librarys_fill(czyx, tmp_path, run):
    filled, outlined = tmp_path / "fill.png", tmp_path / "outline.png"
    assert run("preview", czyx, "-o", filled, "--labels", "nuclei", "--label-style",
               "fill").returncode == 0
    assert run("preview", czyx, "-o", outlined, "--labels", "nuclei", "--label-style",
               "outline").returncode == 0
    assert filled.read_bytes() != outlined.read_bytes()
    assert filled.read_bytes() == library_png(tmp_path, czyx, max_size=512, labels="nuclei",
                                              label_style="fill")
    assert outlined.read_bytes() == library_png(tmp_path, czyx, max_size=512, labels="nuclei",
                                                label_style="outline")
    default = tmp_path / "auto.png"
    assert run("preview", czyx, "-o", default, "--labels", "nuclei").returncode == 0
    assert default.read_bytes() == library_png(tmp_path, czyx, max_size=512, labels="nuclei")


def test_label_style_choices_and_needs_labels(czyx, tmp_path, run):
    out = tmp_path / "p.png"
    bad = run("preview", czyx, "-o", out, "--labels", "nuclei", "--label-style", "dots")
    assert bad.returncode == 2 and "--label-style" in bad.stderr and "outline" in bad.stderr
    line = assert_one_line_error(run("preview", czyx, "-o", out, "--label-style", "fill"), 2)
    assert "--label-style fill" in line and "--labels" in line
    assert not out.exists()


def test_fields_all_tiles_every_field_of_a_plate(tmp_path, run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plate = write_plate(tmp_path / "p.zarr", rows="B", columns=("03", "05"), fields=2)
    every, first = tmp_path / "all.png", tmp_path / "first.png"
    result = run("preview", plate, "-o", every, "--fields", "all", "--size", "128")
    assert result.returncode == 0, result.stderr
    assert run("preview", plate, "-o", first, "--size", "128").returncode == 0
    assert every.read_bytes() != first.read_bytes()
    assert every.read_bytes() == library_png(tmp_path, plate, max_size=128, fields="all")
    assert first.read_bytes() == library_png(tmp_path, plate, max_size=128)


def test_fields_all_is_for_a_plate(czyx, tmp_path, run):
    line = assert_one_line_error(run("preview", czyx, "-o", tmp_path / "p.png", "--fields",
                                     "all"), 2)
    assert "--fields all" in line and "plate" in line
    assert run("preview", czyx, "-o", tmp_path / "p.png", "--fields", "some").returncode == 2


def test_an_invalid_render_spec_is_a_usage_error():
    from kit.cli.exits import exit_code_for
    from kit.render import InvalidRenderSpec, NotRenderable, RenderSpec

    with pytest.raises(InvalidRenderSpec) as bad:
        RenderSpec(opacity=2)
    assert exit_code_for(bad.value) == 2
    assert exit_code_for(NotRenderable("cannot preview a Group")) == 2


# -- serve ----------------------------------------------------------------------------------


@pytest.fixture
def small_plate(tmp_path) -> Path:
    return write_plate(tmp_path / "class.zarr", rows="B", columns=("03",))


def test_serve_generated_password_reaches_another_process(small_plate, monkeypatch, capsys, run):
    bg = Serving(monkeypatch, capsys, "serve", small_plate, "--port", "0", "--user", "student")
    try:
        url = bg.find(r"at (http://127\.0\.0\.1:\d+/)").group(1)
        m = bg.find(r"user: (\S+)\s+password: (\S+)\s+\(generated")
        assert m.group(1) == "student"
        password = m.group(2)
        assert sum(password in ln for ln in bg.lines) == 1  # printed once
        assert any("NGFF_KIT_USERNAME=student" in ln for ln in bg.lines)
        assert any(f"NGFF_KIT_ORIGINS={url}" in ln for ln in bg.lines)  # where the variables may go
        assert any("kit.login(" in ln for ln in bg.lines)
        ok = open_with_env(url, monkeypatch, NGFF_KIT_USERNAME="student",
                           NGFF_KIT_PASSWORD=password, NGFF_KIT_ORIGINS=url)
        assert sorted(ok.wells) == ["B/03"]
        # the CLI against the same server: without and with wrong credentials -> 4
        line = assert_one_line_error(run("info", url), 4)
        for option in ("--user", "--password-env", "--token-env"):  # the advice names the CLI's way
            assert option in line
        wrong = run("info", url, env={"NGFF_KIT_USERNAME": "student", "NGFF_KIT_PASSWORD": "nope",
                                      "NGFF_KIT_ORIGINS": url})
        assert_one_line_error(wrong, 4)
        right = run("info", url, "--user", "student", "--password-env", "PW", env={"PW": password})
        assert right.returncode == 0 and "well B/03" in right.stdout, right.stderr
        assert password not in right.stdout + right.stderr
    finally:
        assert bg.stop() == 0
    assert "Traceback" not in bg.stderr


def test_serve_with_token_and_argv_password_warning(small_plate, monkeypatch, capsys, run):
    token = secrets.token_urlsafe(16)
    monkeypatch.setenv("TOK", token)
    bg = Serving(monkeypatch, capsys, "serve", small_plate, "--port", "0", "--token-env", "TOK")
    try:
        url = bg.find(r"at (http://127\.0\.0\.1:\d+/)").group(1)
        bg.find(r"NGFF_KIT_TOKEN=<token> NGFF_KIT_ORIGINS=http://127\.0\.0\.1:\d+/")
        assert not any(token in ln for ln in bg.lines)  # the user's own token is never echoed
        ok = run("info", url, "--token-env", "TOK")
        assert ok.returncode == 0 and "well B/03" in ok.stdout, ok.stderr
        via_env = open_with_env(url, monkeypatch, NGFF_KIT_TOKEN=token, NGFF_KIT_ORIGINS=url)
        assert sorted(via_env.wells) == ["B/03"]
        argv = run("info", url, "--token", token)
        assert argv.returncode == 0
        assert "visible in the process list" in argv.stderr
        assert token not in argv.stdout + argv.stderr
    finally:
        assert bg.stop() == 0


# -- consolidate ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_consolidate(tmp_path, version, run):
    plate = write_plate(tmp_path / "p.zarr", version=version, rows="B", columns=("03",))
    result = run("consolidate", plate)
    assert result.returncode == 0, result.stderr
    if version == "0.4":
        assert (plate / ".zmetadata").exists()
        assert str(plate / ".zmetadata") in result.stdout
    else:
        assert "consolidated_metadata" in json.loads((plate / "zarr.json").read_text())
    info = run("info", plate)
    assert info.returncode == 0 and "well B/03" in info.stdout


# -- exit codes -----------------------------------------------------------------------------


def test_not_found_is_3(tmp_path, run):
    line = assert_one_line_error(run("info", tmp_path / "missing.zarr"), 3)
    assert "missing.zarr" in line
    assert_one_line_error(run("consolidate", tmp_path / "missing.zarr"), 3)
    assert_one_line_error(run("serve", tmp_path / "missing.zarr", "--port", "0"), 3)


def test_unsupported_version_and_invalid_metadata_are_5(tmp_path, run):
    bad = tmp_path / "future.zarr"
    bad.mkdir()
    (bad / ".zgroup").write_text('{"zarr_format": 2}')
    (bad / ".zattrs").write_text('{"multiscales": [{"version": "0.9"}]}')
    line = assert_one_line_error(run("info", bad), 5)
    assert "0.9" in line
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / "zarr.json").write_text("{not json")
    assert_one_line_error(run("info", broken), 5)


def test_remote_error_is_6(run):
    assert_one_line_error(run("info", f"http://127.0.0.1:{free_port()}/x.zarr"), 6)


def test_usage_errors_are_2(tmp_path, run):
    assert run("bogus").returncode == 2
    assert run("preview", tmp_path).returncode == 2  # -o is required
    assert_one_line_error(run("info", tmp_path, "--password-env", "PW", env={"PW": "x"}), 2)
    # --user without a password and no terminal: refused, not hung, with a hint
    line = assert_one_line_error(run("info", tmp_path, "--user", "a"), 2)
    assert "--password-env" in line


def test_secret_never_in_error_output(tmp_path, run):
    """A password given on argv is warned about and absent from the error line."""
    secret = "argv-" + secrets.token_hex(8)
    result = run("info", tmp_path / "nope.zarr", "--user", "u", "--password", secret)
    assert_one_line_error(result, 3)
    assert "visible in the process list" in result.stderr
    assert secret not in result.stdout + result.stderr


def test_the_cli_declares_no_env_variable_name_of_its_own():
    """Env names live in kit.auth.env only: the CLI imports them (a copy would drift)."""
    import ast

    import kit.auth.env
    import kit.cli.credentials
    import kit.cli.demo

    names = {"NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "NGFF_KIT_PASSWORD", "NGFF_KIT_ORIGINS",
             "NGFF_KIT_DEMO_PASSWORD"}
    for path in sorted(Path(kit.cli.__file__).parent.glob("*.py")):
        literals = {n.value for n in ast.walk(ast.parse(path.read_text()))
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not literals & names, path.name
    assert kit.cli.credentials.ENV_ORIGINS is kit.auth.env.ENV_ORIGINS
    assert kit.cli.demo.ENV_DEMO_PASSWORD is kit.auth.env.ENV_DEMO_PASSWORD


# -- help, version ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["demo", "info", "preview", "serve", "consolidate"])
def test_every_command_shows_an_example_and_the_exit_codes(run, command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert f"ngff-kit {command}" in result.stdout.split("examples:")[1]
    assert "exit codes:" in result.stdout and "3 not found" in result.stdout


@pytest.mark.parametrize(("command", "positional"), [("info", "source"), ("preview", "source"),
                                                     ("serve", "path"), ("consolidate", "path")])
def test_positional_arguments_have_help(run, command, positional):
    text = run(command, "--help").stdout
    section = text.split("positional arguments:")[1].split("options:")[0]
    (line,) = [ln for ln in section.splitlines() if ln.strip().startswith(positional)]
    assert len(line.split()) > 2, line  # a description follows the name


def test_consolidate_says_what_it_is_for(run):
    text = " ".join(run("consolidate", "--help").stdout.split())
    assert "one request" in text and "before publishing" in text


def test_version(run):
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ngff-kit {importlib.metadata.version('ngff-kit')}"
    assert kit.__version__ == importlib.metadata.version("ngff-kit")
    assert (Path(kit.__file__).parent / "py.typed").is_file()


# -- the installed script, as a user runs it (subprocess smoke tests) -----------------------


def command() -> list[str]:
    """The console script when installed beside this Python, else ``python -m kit.cli``."""
    return [str(BIN)] if BIN.exists() else [sys.executable, "-m", "kit.cli"]


def subprocess_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(command() + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)


def test_python_m_kit_cli_works():
    result = subprocess.run([sys.executable, "-m", "kit.cli", "--help"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0 and "consolidate" in result.stdout
    assert shutil.which("ngff-kit", path=str(BIN.parent)) or not BIN.exists()


def test_script_version_and_an_exit_code(tmp_path):
    version = subprocess_run("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"ngff-kit {importlib.metadata.version('ngff-kit')}"
    missing = subprocess_run("info", tmp_path / "missing.zarr")
    assert missing.returncode == 3 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("ngff-kit: error: ") and len(missing.stderr.splitlines()) == 1
