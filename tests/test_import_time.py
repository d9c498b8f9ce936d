"""``import kit`` stays cheap: heavy dependencies load only when a call needs them.

Each check runs in a fresh interpreter (this test process has imported everything already) and
asserts *which* modules are loaded, not how long it took: the set is deterministic, a time on
a shared 2-core machine is not. (Measured: ``import kit`` 0.12 s, with ``kit.open`` resolved
0.72 s, best of 7, where zarr alone takes 0.59 s; it was 1.6-2.5 s with dask imported eagerly.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# never needed to import the kit, open a local image and preview it
HEAVY = ("dask", "pandas", "matplotlib", "ipywidgets", "anywidget", "traitlets", "IPython",
         "aiohttp", "obstore", "s3fs", "xarray", "scipy", "pyarrow", "anndata")
# not needed until something is opened
OPENING = ("zarr", "numcodecs", "numpy", "fsspec")


def loaded_after(code: str) -> set[str]:
    """Top-level modules of interest in sys.modules after ``code`` in a fresh interpreter."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}})))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1])) & set(HEAVY + OPENING)


def test_import_kit_loads_no_heavy_dependency():
    assert loaded_after("import kit") == set()


def test_public_names_still_resolve_and_load_what_they_need():
    code = ("import kit\n"
            "assert kit.open.__module__ == 'kit.nodes.opening'\n"
            "assert kit.nodes.base.html_renderer is kit.render.card_html\n"
            "from kit import Image, preview, validate\n"
            "assert set(kit.__all__) <= set(dir(kit))")
    assert loaded_after(code) == set(OPENING)


def test_unknown_attribute_is_an_attribute_error():
    import kit

    with pytest.raises(AttributeError, match="no_such_name"):
        kit.no_such_name


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    from kit.demo.generate import write_image

    return write_image(tmp_path_factory.mktemp("imp") / "img.zarr", shape=(2, 1, 64, 64),
                       levels=2)


def test_a_local_preview_needs_no_dask_pandas_or_widgets(image):
    loaded = loaded_after(f"import kit\nkit.preview(kit.open({str(image)!r}), max_size=64)")
    assert loaded & set(HEAVY) == set()


def test_to_dask_loads_dask_when_asked(image):
    loaded = loaded_after(f"import kit\nkit.open({str(image)!r}).to_dask(1)")
    # (dask.array itself pulls in pandas and xarray through its array-type registrations)
    assert "dask" in loaded and not loaded & {"matplotlib", "ipywidgets", "aiohttp"}
