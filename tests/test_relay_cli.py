"""``ngff-kit serve --mirror URL``: the relay as a teacher starts it (a real process, SIGTERM
to stop), and its option errors, each one line and exit code 2; ``serve FOLDER`` unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import kit
from kit.cli.app import main
from kit.demo.generate import write_plate
from kit.demo.server import DemoServer

REPO = Path(__file__).resolve().parents[1]
UP_TOKEN = "upstream-token-5555"
CLASS_PW = "class-password-66"


@pytest.fixture(autouse=True)
def _clean(no_machine_credentials):
    yield


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plate(tmp_path_factory.mktemp("relay-cli") / "p.zarr", version="0.4", rows="B")


def test_a_teacher_starts_the_relay_and_stops_it_with_sigterm(plate, tmp_path):
    log = tmp_path / "access.log"
    with DemoServer(plate, auth="bearer", token=UP_TOKEN) as up:
        env = {**os.environ, "UPTOK": UP_TOKEN, "CLASSPW": CLASS_PW,
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kit.cli", "serve", "--mirror", up.url,
             "--upstream-token-env", "UPTOK", "--user", "class", "--password-env", "CLASSPW",
             "--port", "0", "--host", "0.0.0.0", "--access-log", str(log),
             "--cache", str(tmp_path / "cache")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("Relaying ") and " at http://" in first
            port = first.split(" at ")[1].split()[0].rstrip("/").rsplit(":", 1)[1]
            opened = kit.open(f"http://127.0.0.1:{port}/", auth=kit.BasicAuth("class", CLASS_PW))
            assert opened.well_paths == ["B/03", "B/05"]
        finally:
            proc.send_signal(signal.SIGTERM)
            rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "relay stopped" in rest
    assert "warning" in err and "0.0.0.0" in err and "plain HTTP" in err
    text = first + rest + err + log.read_text()
    assert UP_TOKEN not in text and CLASS_PW not in text
    assert " GET /.zattrs 200 " in log.read_text()
    assert kit.cache.info(tmp_path / "cache").entries > 0  # --cache DIR: kept on disk
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert UP_TOKEN.encode() not in on_disk


@pytest.mark.parametrize(("args", "said"), [
    (["FOLDER", "--mirror", "http://127.0.0.1:9/"], "not both"),
    (["--mirror", "http://127.0.0.1:9/"], "students' credential"),
    (["--mirror", "http://127.0.0.1:9/", "--students", "TOKENS", "--user", "x"], "not both"),
    (["--mirror", "http://127.0.0.1:9/", "--token-env", "CLASSPW"], "--students FILE"),
    (["--mirror", "http://127.0.0.1:9/", "--upstream-user", "me", "--user", "c",
      "--password-env", "CLASSPW"], "go together"),
    (["--mirror", "http://127.0.0.1:9/", "--upstream-token-env", "NOT_SET_ANYWHERE",
      "--user", "c", "--password-env", "CLASSPW"], "NOT_SET_ANYWHERE"),
    (["--mirror", "http://127.0.0.1:9/", "--students", "BAD"], "line 1"),
    (["FOLDER", "--students", "TOKENS"], "relay only"),
    ([], "--mirror URL"),
])
def test_option_errors_are_one_line_and_exit_2(plate, tmp_path, monkeypatch, capsys, args, said):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("alice alice-token-123\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("alice secret-token-xyz extra\n")
    monkeypatch.setenv("CLASSPW", CLASS_PW)
    replace = {"FOLDER": str(plate), "TOKENS": str(tokens), "BAD": str(bad)}
    code = main(["serve", *[replace.get(a, a) for a in args], "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert said in err and len(err.strip().splitlines()) == 1
    assert "secret-token-xyz" not in err and CLASS_PW not in err
