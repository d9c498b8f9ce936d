"""Shared fixtures: where the read-only shared inputs live (skipping cleanly without them),
no machine credentials, and per-test DemoServers (helpers that are not fixtures: helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REAL_PLATE, REPO, SHARED, SPEC  # noqa: F401 - REPO and SHARED re-exported


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared inputs sit beside the repository in CI)")
    return path


@pytest.fixture
def real_plate() -> Path:
    """The real Fractal plate (NGFF 0.4, zarr v2) from ../shared/data."""
    return need(REAL_PLATE)


@pytest.fixture
def spec_dir() -> Path:
    return need(SPEC)


@pytest.fixture
def no_machine_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No credential from the environment, netrc or an earlier test may reach a test."""
    import kit
    from kit.auth.env import CREDENTIAL_VARIABLES  # the names live there, and only there

    for var in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    kit.credentials.clear()
    yield
    kit.credentials.clear()


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(root, **DemoServer options)``: a started DemoServer, stopped after the test."""
    from kit.demo.server import DemoServer

    servers: list[DemoServer] = []

    def start(root: str | Path, **kwargs: Any) -> DemoServer:
        server = DemoServer(root, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
