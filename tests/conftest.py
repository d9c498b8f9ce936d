"""Shared fixtures: where the read-only shared inputs live, skipping cleanly without them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()
REAL_PLATE = SHARED / "data" / "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"
SPEC = SHARED / "ngff-spec"
CREDENTIAL_ENV = ("NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "NGFF_KIT_PASSWORD", "NGFF_KIT_ORIGINS",
                  "DANDI_API_KEY",
                  "DANDI_SANDBOX_API_KEY", "DANDI_STAGING_API_KEY")


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

    for var in CREDENTIAL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    kit.credentials.clear()
    yield
    kit.credentials.clear()
