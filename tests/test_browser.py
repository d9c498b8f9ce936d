"""Real-browser test: kit.login and kit.browse in Voila, driven by Playwright with Debian Chromium.

The notebook starts an authenticated DemoServer over kit.demo.generate data; the password
reaches the kernel only through its environment, never the notebook source. Chromium types the
password into the prompt, opens a well, toggles a channel and sees the viewer's picture change.
Then nbclient executes the same notebook with widget state stored (a script fills the prompt the
way a user would) and the saved .ipynb, the Voila page and the server log must hold no trace of
the password. Everything listens on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import pytest
from browser_harness import CHROMIUM, NO_FILES, voila_page
from browser_harness import jupyter_env as harness_env  # benchmarks/: on sys.path (helpers.py)

pytestmark = pytest.mark.browser


NOTEBOOK_CELLS = [
    # the password comes from the kernel's environment: the notebook itself holds none
    "import os\nimport kit\nfrom kit.demo.server import DemoServer\n\n"
    "server = DemoServer(os.environ['KIT_TEST_DATA'], auth='basic', username='demo',\n"
    "                    password=os.environ['KIT_TEST_DEMO_PASSWORD']).start()\n"
    "url = server.url + 'plate.zarr'",
    "prompt = kit.login(url, username='demo')\nprompt",
    # headless runs (nbclient) have nobody to type: fill the form the way a user would
    "if os.environ.get('KIT_TEST_AUTOFILL'):\n"
    "    prompt.password.value = os.environ['KIT_TEST_DEMO_PASSWORD']\n"
    "    prompt.submit.click()\n"
    "    assert prompt.wait_idle(60)",
    "browser = kit.browse(url)\nbrowser",
    "if os.environ.get('KIT_TEST_AUTOFILL'):\n"
    "    assert browser.wait_idle(120)\n"
    "    browser.select_well('B/03')\n"
    "    assert browser.wait_idle(120)\n"
    "    browser.viewer.channel_toggles[0].value = False\n"
    "    assert browser.wait_idle(120)\n"
    "    print(bool(browser.viewer.picture.picture().any()), 'channels shown:',\n"
    "          [t.description for t in browser.viewer.channel_toggles if t.value])",
]


def needles(password: str) -> list[str]:
    """The password and the forms it travels in (Basic header payload)."""
    return [password, base64.b64encode(f"demo:{password}".encode()).decode()]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-browser.sh); "
                    "Playwright browser downloads are not possible here")
    pytest.importorskip("playwright.sync_api",
                        reason="playwright (python package) is not installed")
    pytest.importorskip("voila", reason="voila is not installed")
    pytest.importorskip("nbclient", reason="nbclient is not installed")
    from kit.demo.generate import write_plate

    data = tmp_path / "data"
    write_plate(data / "plate.zarr", rows="B", columns=("03", "04"), fields=1,
                image_kwargs={"axes": "czyx", "shape": (3, 2, 128, 128), "chunks": (1, 1, 64, 64),
                              "levels": 2, "labels": ("nuclei",), "tables": True})
    return tmp_path


def jupyter_env(workdir: Path, password: str, **extra: str) -> dict[str, str]:
    """The kernel's environment: the data folder and the demo password, nothing of ours."""
    return harness_env(workdir, KIT_TEST_DATA=str(workdir / "data"),
                       KIT_TEST_DEMO_PASSWORD=password, **extra)


def test_login_and_browse_in_voila_then_saved_notebook_has_no_password(workdir: Path):
    password = "pw-" + secrets.token_hex(10)
    notebook = workdir / "kit_browser.ipynb"
    log_path = workdir / "voila.log"
    t0 = time.monotonic()
    with voila_page(workdir, NOTEBOOK_CELLS, jupyter_env(workdir, password), name=notebook.name,
                    voila_args=["--show_tracebacks=False", NO_FILES]) as page:
        page_text = _drive(page, password)
        inputs = page.evaluate(
            "() => Array.from(document.querySelectorAll('input, textarea'))"
            ".map(e => e.value).join('\\n')")
        content = page.content()
    browser_seconds = time.monotonic() - t0
    for needle in needles(password):
        assert needle not in content, "the password is in the Voila page"
        assert needle not in inputs, "the password stayed in an input of the page"
        assert needle not in page_text
        assert needle not in log_path.read_text(errors="replace"), "the password is in voila's log"

    # the same notebook, executed headlessly with widget state stored, then saved
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=jupyter_env(workdir, password, KIT_TEST_AUTOFILL="1"))  # kernel's env
    out = workdir / "kit_browser.executed.ipynb"
    nbformat.write(nb, out)
    text = out.read_text()
    assert "application/vnd.jupyter.widget-state+json" in text  # widget state was stored
    assert "Signed in" in text  # the login really ran: its status is in the stored state
    assert "channels shown:" in text
    for needle in needles(password):
        assert needle not in text, "the password is in the saved notebook"
    print(f"\nbrowser part took {browser_seconds:.1f} s")


def _drive(page, password: str) -> str:
    """Log in by typing, open a well, toggle a channel; returns the page's visible text."""
    login = page.locator(".ngff-kit-login")
    login.wait_for(state="visible")
    box = login.locator("input[type=password]")
    box.click()
    box.press_sequentially(password, delay=5)
    login.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in to").wait_for()
    assert box.input_value() == "", "the password box was not cleared"

    # the browser was opened before signing in; it reloads by itself and shows the plate
    well = page.locator(".ngff-kit-well", has_text="B03")
    well.wait_for(state="visible")
    well.click()
    view = ".ngff-kit-viewer .ngffkit-view"  # the browse viewer's pan/zoom view
    done = (f"(old) => {{ const v = document.querySelector('{view}');"
            " return v && v.dataset.complete === '1' && v.ngffkit.st.spec !== old; }")
    page.wait_for_function(done, arg="")
    before_spec = page.evaluate(f"() => document.querySelector('{view}').ngffkit.st.spec")
    before = _image_bytes(page)
    toggle = page.locator(".ngff-kit-viewer .ngff-kit-channel-on input[type=checkbox]").first
    toggle.uncheck()
    page.wait_for_function(done, arg=before_spec)
    after = _image_bytes(page)
    assert after != before and after[:4] == b"\x89PNG"[:4]
    return page.inner_text("body")


def _image_bytes(page) -> bytes:
    """The PNG of what the browse viewer's canvas shows."""
    data = page.evaluate(
        "() => document.querySelector('.ngff-kit-viewer .ngffkit-view canvas')"
        ".toDataURL('image/png').split(',')[1]")
    return base64.b64decode(data)
