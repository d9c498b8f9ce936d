"""The ``ngff-kit`` command, run as a user runs it: a real subprocess of the installed script.

What is checked: the demo's PNGs and what it says about them, the password staying off the
terminal unless the user asked to keep serving, ``info``/``preview`` on the real plate, ``serve``
reached from another process with the printed login, ``consolidate``, and every documented exit
code with its one-line message (never a traceback).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kit.demo.generate import write_image, write_plate

BIN = Path(sys.executable).parent / "ngff-kit"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def command() -> list[str]:
    """The console script when installed beside this Python, else ``python -m kit.cli``."""
    return [str(BIN)] if BIN.exists() else [sys.executable, "-m", "kit.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any of the kit's credential variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGFF_KIT_")}
    env["NETRC"] = os.devnull  # a developer's ~/.netrc must not change what a test sees
    return {**env, **extra}


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(command() + [str(a) for a in args], capture_output=True, text=True,
                          env=env or clean_env(), timeout=timeout, stdin=subprocess.DEVNULL)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def assert_one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("ngff-kit: warning:")]
    assert len(lines) == 1 and lines[0].startswith("ngff-kit: error: "), result.stderr
    return lines[0]


# -- demo -----------------------------------------------------------------------------------


def test_demo_writes_pictures_and_never_prints_the_password(tmp_path):
    password = secrets.token_urlsafe(12)
    out = tmp_path / "demo"
    result = run("demo", "--out", out, env=clean_env(NGFF_KIT_DEMO_PASSWORD=password))
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
def test_demo_no_serve_only_generates(tmp_path):
    result = run("demo", "--out", tmp_path, "--version", "0.5", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plate.zarr" / "zarr.json").exists()
    assert not list(tmp_path.glob("*.png"))
    assert "password" not in result.stdout.lower()


class Background:
    """A long-running CLI process whose stdout is read line by line from a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(command() + [str(a) for a in args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env or clean_env(),
                                     stdin=subprocess.DEVNULL)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        raise AssertionError(f"no line matching {pattern!r}; output: {self.lines}; stderr: {err}")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err or ""


def open_in_other_process(url: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A separate Python opens the URL with credentials from the environment only."""
    code = ("import kit; n = kit.open(%r); print(type(n).__name__, n.levels[0].shape "
            "if hasattr(n, 'levels') else sorted(n.wells))" % url)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.slow
def test_demo_keep_serving_prints_the_login_once(tmp_path):
    password = secrets.token_urlsafe(12)
    bg = Background("demo", "--out", tmp_path, "--keep-serving",
                    env=clean_env(NGFF_KIT_DEMO_PASSWORD=password))
    try:
        url = bg.wait_for(r"Still serving (http://\S+)").group(1)
        m = bg.wait_for(r"user: (\S+)\s+password: (\S+)")
        assert m.group(2) == password
        assert sum(password in ln for ln in bg.lines) == 1  # shown once, and only there
        assert any("kit.login(" in ln for ln in bg.lines)
        done = open_in_other_process(url, clean_env(NGFF_KIT_USERNAME=m.group(1),
                                                    NGFF_KIT_PASSWORD=m.group(2),
                                                    NGFF_KIT_ORIGINS=url))
        assert done.returncode == 0, done.stderr
        assert "Plate" in done.stdout
    finally:
        err = bg.stop()
    assert password not in err


# -- info and preview on the real plate -----------------------------------------------------


def test_info_real_plate(real_plate):
    result = run("info", real_plate)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ("plate 1x2", "well B/03", "well B/05", "channels: DAPI",
                   "level 0: shape (3, 1, 2160, 5120) uint16", "level 4: shape (3, 1, 135, 320)",
                   "label nuclei", "table FOV_ROI_table (roi_table", "table measurements (feature_table"):
        assert needle in out, needle


def test_info_json_real_plate(real_plate):
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


def test_preview_real_plate_image(real_plate, tmp_path):
    out = tmp_path / "sub" / "field.png"
    result = run("preview", real_plate / "B" / "03" / "0", "-o", out, "--labels", "nuclei",
                 "--channels", "DAPI", "1", "--size", "256")
    assert result.returncode == 0, result.stderr
    w, h = png_size(out)
    assert max(w, h) == 256 and min(w, h) > 50
    assert str(out) in result.stdout


def test_preview_level_and_plane_options(tmp_path):
    image = write_image(tmp_path / "img.zarr", axes="tczyx", shape=(2, 2, 3, 64, 64), levels=2)
    out = tmp_path / "p.png"
    result = run("preview", image, "-o", out, "--z", "2", "--t", "1", "--level", "1")
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (32, 32)
    bad = run("preview", image, "-o", out, "--z", "9")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


# -- serve ----------------------------------------------------------------------------------


@pytest.fixture
def small_plate(tmp_path) -> Path:
    return write_plate(tmp_path / "class.zarr", rows="B", columns=("03",))


def test_serve_generated_password_reaches_another_process(small_plate):
    bg = Background("serve", small_plate, "--port", "0", "--user", "student")
    try:
        url = bg.wait_for(r"at (http://127\.0\.0\.1:\d+/)").group(1)
        m = bg.wait_for(r"user: (\S+)\s+password: (\S+)\s+\(generated")
        assert m.group(1) == "student"
        password = m.group(2)
        assert sum(password in ln for ln in bg.lines) == 1  # printed once
        assert any("NGFF_KIT_USERNAME=student" in ln for ln in bg.lines)
        assert any("kit.login(" in ln for ln in bg.lines)
        ok = open_in_other_process(url, clean_env(NGFF_KIT_USERNAME="student", NGFF_KIT_PASSWORD=password,
                                                    NGFF_KIT_ORIGINS=url))
        assert ok.returncode == 0, ok.stderr
        assert "Plate ['B/03']" in ok.stdout
        # the CLI against the same server: without and with wrong credentials -> 4
        assert_one_line_error(run("info", url), 4)
        wrong = run("info", url, env=clean_env(NGFF_KIT_USERNAME="student", NGFF_KIT_PASSWORD="nope",
                                             NGFF_KIT_ORIGINS=url))
        assert_one_line_error(wrong, 4)
        right = run("info", url, "--user", "student", "--password-env", "PW", env=clean_env(PW=password))
        assert right.returncode == 0 and "well B/03" in right.stdout, right.stderr
        assert password not in right.stdout + right.stderr
    finally:
        err = bg.stop()
    assert "Traceback" not in err


def test_serve_with_token_and_argv_password_warning(small_plate):
    token = secrets.token_urlsafe(16)
    bg = Background("serve", small_plate, "--port", "0", "--token-env", "TOK", env=clean_env(TOK=token))
    try:
        url = bg.wait_for(r"at (http://127\.0\.0\.1:\d+/)").group(1)
        bg.wait_for(r"NGFF_KIT_TOKEN=<token>")
        assert not any(token in ln for ln in bg.lines)  # the user's own token is never echoed
        ok = run("info", url, "--token-env", "TOK", env=clean_env(TOK=token))
        assert ok.returncode == 0 and "well B/03" in ok.stdout, ok.stderr
        via_env = open_in_other_process(url, clean_env(NGFF_KIT_TOKEN=token, NGFF_KIT_ORIGINS=url))
        assert via_env.returncode == 0, via_env.stderr
        argv = run("info", url, "--token", token)
        assert argv.returncode == 0
        assert "visible in the process list" in argv.stderr
        assert token not in argv.stdout + argv.stderr
    finally:
        bg.stop()


# -- consolidate ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_consolidate(tmp_path, version):
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


def test_not_found_is_3(tmp_path):
    line = assert_one_line_error(run("info", tmp_path / "missing.zarr"), 3)
    assert "missing.zarr" in line
    assert_one_line_error(run("consolidate", tmp_path / "missing.zarr"), 3)
    assert_one_line_error(run("serve", tmp_path / "missing.zarr", "--port", "0"), 3)


def test_unsupported_version_and_invalid_metadata_are_5(tmp_path):
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


def test_remote_error_is_6():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_one_line_error(run("info", f"http://127.0.0.1:{port}/x.zarr"), 6)


def test_usage_errors_are_2(tmp_path):
    assert run("bogus").returncode == 2
    assert run("preview", tmp_path).returncode == 2  # -o is required
    assert_one_line_error(run("info", tmp_path, "--password-env", "PW", env=clean_env(PW="x")), 2)
    # --user without a password and no terminal: refused, not hung, with a hint
    line = assert_one_line_error(run("info", tmp_path, "--user", "a"), 2)
    assert "--password-env" in line


def test_secret_never_in_error_output(tmp_path):
    """A password given on argv is warned about and absent from the error line."""
    secret = "argv-" + secrets.token_hex(8)
    result = run("info", tmp_path / "nope.zarr", "--user", "u", "--password", secret)
    assert_one_line_error(result, 3)
    assert "visible in the process list" in result.stderr
    assert secret not in result.stdout + result.stderr


def test_python_m_kit_cli_works():
    result = subprocess.run([sys.executable, "-m", "kit.cli", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "consolidate" in result.stdout
    assert shutil.which("ngff-kit", path=str(BIN.parent)) or not BIN.exists()
