"""Real-browser tests of kit.browse's controls and kit.login's field (issue 14 points 3, 7, 8).

Voila serves a notebook that browses the real Fractal plate (uint16, omero window 110-800) and
shows a kit.login prompt; Playwright drives Debian's Chromium at a 1280x800 viewport:
- the whole browse widget fits the screen (its bounding box), and a screenshot is kept;
- a channel's "auto" button changes the picture;
- a channel switched off and a window set in one well are still so in the next well;
- the picture is the pan/zoom view: the wheel zooms it, and the zoom stays in the next well;
- a password typed and not submitted is in no saved widget state: the page's widget manager
  serialises its models with ``get_state_sync({drop_defaults: true})``, the call JupyterLab's
  "save widget state" makes on every save, and the result is written into the notebook's
  ``metadata.widgets`` as JupyterLab writes it; that .ipynb is grepped. Checked while typing
  (focus in the field, as at an autosave), right after the field loses focus (a click on a save
  button blurs it first), and after the kernel has the value; then Enter submits it. JupyterLab
  itself is not installed here, so Lab's own save button is not clicked; the serialisation it
  calls is.
Everything listens on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil

import pytest
from browser_harness import CHROMIUM, jupyter_env, voila_page
from helpers import REAL_PLATE

pytestmark = pytest.mark.browser

SCREEN = {"width": 1280, "height": 800}
SCREENSHOT_COPY = os.environ.get("KIT_TEST_SCREENSHOT")  # also save the screenshot there
PASSWORD = "pw-" + secrets.token_hex(10)

CELLS = [
    "import os\nimport kit\nbrowser = kit.browse(os.environ['KIT_TEST_PLATE'])\n"
    "browser",
    "prompt = kit.login('http://127.0.0.1:9/data.zarr', username='demo')\nprompt",
]

# The serialisation JupyterLab's widget manager runs when a notebook is saved (_saveState).
SAVED_STATE = "() => JSON.stringify(window.jupyterapp.widgetManager.get_state_sync(" \
              "{drop_defaults: true}))"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-browser.sh)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("voila", reason="voila is not installed")
    if not REAL_PLATE.exists():
        pytest.skip(f"the real plate is missing: {REAL_PLATE}")
    workdir = tmp_path_factory.mktemp("browse-browser")
    env = jupyter_env(workdir, KIT_TEST_PLATE=str(REAL_PLATE))
    with voila_page(workdir, CELLS, env, name="browse.ipynb", viewport=(SCREEN["width"],
                    SCREEN["height"]), voila_args=["--show_tracebacks=False"]) as p:
        p.locator(".ngff-kit-browser").wait_for(state="visible")
        p.workdir = workdir  # type: ignore[attr-defined]
        yield p


VIEW = ".ngff-kit-viewer .ngffkit-view"


def picture_src(page) -> str:
    """The spec the browse viewer's pan/zoom view shows complete ('' while it loads)."""
    return page.evaluate(f"() => {{ const v = document.querySelector('{VIEW}');"
                         " return v && v.dataset.complete === '1' ? v.ngffkit.st.spec : ''; }")


def wait_for_new_picture(page, old: str) -> str:
    page.wait_for_function(
        f"(old) => {{ const v = document.querySelector('{VIEW}');"
        " return v && v.dataset.complete === '1' && v.ngffkit.st.spec !== old; }", arg=old)
    return picture_src(page)


def open_well(page, name: str) -> str:
    old = picture_src(page)
    page.locator(".ngff-kit-well", has_text=name).click()
    page.locator(".ngff-kit-viewer", has_text=f"{name[0]}/{name[1:]}/0: ").wait_for()
    return wait_for_new_picture(page, old)


def test_placeholder_then_the_whole_widget_fits_a_1280x800_screen(page):
    well = page.locator(".ngff-kit-well", has_text="B03")
    well.wait_for(state="visible")
    viewer = page.locator(".ngff-kit-viewer")
    assert "Choose a well" in viewer.inner_text()
    broken = page.evaluate(
        "() => Array.from(document.querySelectorAll('.ngff-kit-browser img')).filter(i =>"
        " i.offsetParent !== null && getComputedStyle(i).visibility !== 'hidden'"
        " && !(i.complete && i.naturalWidth > 0)).length")
    assert broken == 0, "an empty <img> (a broken-image icon) is shown before a well is chosen"
    open_well(page, "B03")
    box = page.locator(".ngff-kit-browser").bounding_box()
    shot = page.workdir / "browse-1280x800.png"
    page.screenshot(path=str(shot), full_page=True)
    if SCREENSHOT_COPY:
        shutil.copy(shot, SCREENSHOT_COPY)
    assert box is not None
    assert box["height"] <= SCREEN["height"], box
    assert box["x"] + box["width"] <= SCREEN["width"], box
    # picture and controls side by side: the controls start right of the picture's left edge
    picture = page.locator(VIEW).bounding_box()
    controls = page.locator(".ngff-kit-controls").bounding_box()
    assert controls["x"] >= picture["x"] + picture["width"] - 1, (picture, controls)


def test_a_long_title_does_not_move_the_panes(page):
    before = page.locator(".ngff-kit-viewer").bounding_box()
    page.evaluate("() => { const t = document.querySelector('.ngff-kit-browser div[title]');"
                  " t.textContent = t.textContent + ' /a/very/long/path'.repeat(40); }")
    after = page.locator(".ngff-kit-viewer").bounding_box()
    assert after == before


def test_auto_contrast_button_changes_the_picture(page):
    if not picture_src(page):
        open_well(page, "B03")
    old = picture_src(page)
    readout = page.locator(".ngff-kit-channel .widget-readout").first
    assert readout.inner_text().replace(" ", "") in ("110.0–800.0", "110–800", "110-800"), \
        readout.inner_text()
    page.locator(".ngff-kit-auto").first.click()
    wait_for_new_picture(page, old)
    assert readout.inner_text().replace(" ", "") not in ("110–800", "110.0–800.0")


def test_settings_are_kept_in_the_next_well(page):
    if not picture_src(page):
        open_well(page, "B03")
    checks = page.locator(".ngff-kit-channel-on input[type=checkbox]")
    assert checks.count() == 3 and checks.nth(1).is_checked()
    old = picture_src(page)
    checks.nth(1).uncheck()
    wait_for_new_picture(page, old)
    dapi_window = page.locator(".ngff-kit-channel .widget-readout").first.inner_text()
    open_well(page, "B05")
    assert not checks.nth(1).is_checked()
    assert checks.nth(0).is_checked() and checks.nth(2).is_checked()
    assert page.locator(".ngff-kit-channel .widget-readout").first.inner_text() == dapi_window


def test_the_picture_zooms_with_the_wheel_and_keeps_the_zoom_in_the_next_well(page):
    if not picture_src(page):
        open_well(page, "B03")
    state = f"() => document.querySelector('{VIEW}').ngffkit.state()"
    fitted = page.evaluate(state)
    canvas = page.locator(f"{VIEW} canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(2):  # to level 1 (the real plate's copy here stores no level-0 chunks)
        page.mouse.wheel(0, -240)
    page.wait_for_function(f"() => {{ const s = ({state})(); return s.scale > {fitted['scale']}"
                           " * 2 && s.complete; }")
    zoomed = page.evaluate(state)
    assert zoomed["level"] <= fitted["level"]
    open_well(page, "B05" if "B/05" not in page.locator(".ngff-kit-viewer").inner_text()
              else "B03")
    kept = page.evaluate(state)
    assert kept["scale"] == pytest.approx(zoomed["scale"])  # same field size: same zoom
    assert (kept["x0"], kept["y0"]) == pytest.approx((zoomed["x0"], zoomed["y0"]))
    shot = page.workdir / "browse-zoomed.png"
    page.screenshot(path=str(shot), full_page=True)
    page.locator(f"{VIEW} .ngffkit-reset").click()  # Fit: back to the whole field


def test_a_typed_password_is_in_no_saved_widget_state(page):
    field = page.locator(".ngff-kit-secret input[type=password]")
    field.scroll_into_view_if_needed()
    field.click()
    field.press_sequentially(PASSWORD, delay=5)
    assert field.input_value() == PASSWORD  # it is typed, and not submitted
    states = {"while typing": page.evaluate(SAVED_STATE)}
    states["right after the field lost focus"] = page.evaluate(
        "() => { document.querySelector('.ngff-kit-secret input').blur();"
        f" return ({SAVED_STATE})(); }}")
    page.locator(".ngff-kit-login input[placeholder='(entered, hidden)']").wait_for()
    states["after the kernel took it"] = page.evaluate(SAVED_STATE)
    assert field.input_value() == ""
    for when, state in states.items():
        saved = page.workdir / f"saved-{when.replace(' ', '-')}.ipynb"
        nb = json.loads((page.workdir / "browse.ipynb").read_text())
        nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json":
                                     json.loads(state)}
        saved.write_text(json.dumps(nb, indent=1))
        text = saved.read_text()
        assert '"model_name": "AnyModel"' in text or "AnyModel" in text  # the field is in it
        assert "ngff-kit" in text or "Sign in" in text  # and so is the rest of the prompt
        assert PASSWORD not in text, f"the password is in the state saved {when}"
    # Enter in the field submits what the kernel holds (nothing listens on port 9)
    field.press("Enter")
    page.locator(".ngff-kit-login", has_text="Could not reach").wait_for()
    assert PASSWORD not in page.evaluate(SAVED_STATE)
