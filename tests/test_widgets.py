"""Headless tests of kit.login and kit.browse: drive the widgets by setting values and clicking.

No kernel and no browser: ipywidgets falls back to a dummy comm, so traits can be set and read
directly (``Image.value`` comes back as a memoryview: compare ``bytes(...)``). Remote flows run
against the kit's real DemoServer on loopback.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
from ipywidgets.widgets import widget as widget_module

import kit
from kit.demo.generate import write_image, write_plate
from kit.demo.server import DemoServer
from kit.render.png import to_png
from kit.render.tiles import View
from kit.widgets import Browser, LoginWidget
from kit.widgets._worker import Worker
from kit.widgets.browser import TABLE_TAB

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

WAIT = 60.0


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """A small plate (2 wells x 2 fields, 3 channels, z=4, labels, ROI and feature tables)."""
    root = tmp_path_factory.mktemp("widgets")
    write_plate(root / "plate.zarr", rows="B", columns=("03", "04"), fields=2,
                image_kwargs={"axes": "czyx", "shape": (3, 4, 96, 96), "chunks": (1, 1, 48, 48),
                              "levels": 2, "labels": ("nuclei",), "tables": True,
                              "scale": {"z": 1.0, "y": 0.5, "x": 0.5}},
                plate_tables=True, seed=7)
    write_image(root / "image.zarr", axes="czyx", shape=(2, 3, 64, 64), levels=2)
    return root


@pytest.fixture
def password() -> str:
    return "pw-" + secrets.token_hex(8)


@pytest.fixture
def server(data_root, password, serve):
    return serve(data_root, auth="basic", username="demo", password=password)


def png(widget: Any) -> bytes:
    """PNG bytes of an Image widget, or of what the viewer's pan/zoom view shows now (the
    tiles of the level it reads, put together; b"" before the first image)."""
    if widget is None:
        return b""
    if isinstance(widget, ipywidgets.Image):
        return bytes(widget.value)
    return to_png(widget.picture())


def open_plate_browser(path) -> Browser:
    b = kit.browse(str(path), thumbnails=False)
    assert b.wait_idle(WAIT)
    b.navigation.well_buttons["B/03"].click()
    assert b.wait_idle(WAIT)
    assert png(b.viewer.picture).startswith(b"\x89PNG"), b.message.value
    return b


@pytest.fixture
def browser(data_root) -> Browser:
    b = open_plate_browser(data_root / "plate.zarr")
    yield b
    b.close()


def all_widget_states() -> list[tuple[str, str]]:
    """(repr, JSON state) of every live widget."""
    out = []
    for wid in list(widget_module._instances.values()):
        try:
            state = wid.get_state()
        except Exception:  # noqa: BLE001 - a closed widget raises whatever its traits do
            continue
        out.append((repr(wid), json.dumps(state, default=lambda o: repr(o))))
    return out


def assert_secret_nowhere(secret: str, *widgets: ipywidgets.Widget, log_text: str = "") -> None:
    needles = [secret, base64.b64encode(f"demo:{secret}".encode()).decode()]
    for text_repr, state in all_widget_states():
        for needle in needles:
            assert needle not in state
            assert needle not in text_repr
    for wid in widgets:
        assert secret not in repr(wid)
        assert secret not in str(wid)
    for needle in needles:
        assert needle not in log_text


# -- the worker ----------------------------------------------------------------------------------


def test_worker_applies_only_the_newest_result_of_a_slot():
    worker = Worker(max_workers=4)
    applied: list[str] = []
    gate = threading.Event()

    def slow() -> str:
        gate.wait(5)
        return "old"

    worker.submit("preview", slow, on_result=applied.append)
    worker.submit("preview", lambda: "new", on_result=applied.append)
    time.sleep(0.2)
    gate.set()
    assert worker.wait_idle(10)
    assert applied == ["new"]
    assert not worker.busy


def test_worker_turns_errors_into_messages():
    worker = Worker()
    errors: list[str] = []
    worker.submit("x", lambda: 1 / 0, on_result=lambda r: None,
                  on_error=lambda msg, exc: errors.append(msg))
    assert worker.wait_idle(10)
    assert errors == ["ZeroDivisionError: division by zero"]


def test_worker_reports_busy_until_idle():
    flips: list[bool] = []
    worker = Worker(on_busy=flips.append)
    worker.submit("a", lambda: time.sleep(0.1), on_result=lambda r: None)
    worker.submit("b", lambda: time.sleep(0.1), on_result=lambda r: None)
    assert worker.wait_idle(10)
    assert flips == [True, False]


# -- browsing a local plate ----------------------------------------------------------------------


def test_plate_grid_has_well_buttons_and_thumbnails(data_root):
    b = kit.browse(str(data_root / "plate.zarr"))
    assert isinstance(b, Browser)
    assert b.wait_idle(WAIT)
    assert set(b.navigation.well_buttons) == {"B/03", "B/04"}
    assert all(png(img).startswith(b"\x89PNG") for img in b.navigation.thumbnails.values())
    assert "plate" in b.details.html.value and "1 rows × 2 columns" in b.details.html.value
    b.navigation.well_buttons["B/04"].click()
    assert b.wait_idle(WAIT)
    assert b.navigation.well_buttons["B/04"].button_style == "info"
    assert b.navigation.fields.options == ("0", "1")
    assert png(b.viewer.picture).startswith(b"\x89PNG")
    assert "nuclei" in [v for _, v in b.viewer.label_dropdown.options]
    assert any("FOV_ROI_table" in k for _, k in b.navigation.tables.options)
    assert "levels" in b.details.html.value and "channels" in b.details.html.value
    b.close()


def test_channel_toggle_changes_the_png(browser):
    before = png(browser.viewer.picture)
    toggle = browser.viewer.channel_toggles[0]
    assert toggle.value is True and browser.viewer.rows[0].color.value.startswith("#")
    toggle.value = False
    assert browser.wait_idle(WAIT)
    off = png(browser.viewer.picture)
    assert off.startswith(b"\x89PNG") and off != before
    toggle.value = True
    assert browser.wait_idle(WAIT)
    assert png(browser.viewer.picture) == before  # deterministic: same view, same bytes


def test_all_channels_off_shows_black(browser):
    for t in browser.viewer.channel_toggles:
        t.value = False
    assert browser.wait_idle(WAIT)
    assert png(browser.viewer.picture).startswith(b"\x89PNG")
    assert browser.viewer.view.session.windows == []
    assert not browser.viewer.picture.picture().any()  # black


def test_z_and_t_sliders(browser):
    z = browser.viewer.z_slider
    assert z.continuous_update is False and z.max == 3 and z.layout.display == ""
    assert browser.viewer.t_slider.layout.display == "none"  # no t axis
    before = png(browser.viewer.picture)
    z.value = 0 if z.value != 0 else 3
    assert browser.wait_idle(WAIT)
    assert png(browser.viewer.picture) != before


def test_contrast_level_and_label_controls(browser):
    v = browser.viewer
    assert all(s.continuous_update is False for s in v.contrast_sliders)
    assert v.opacity_slider.continuous_update is False
    before = png(v.picture)
    s = v.contrast_sliders[0]
    s.value = (s.min, s.min + (s.max - s.min) / 10)
    assert browser.wait_idle(WAIT)
    contrast = png(v.picture)
    assert contrast != before
    assert v.view.session.windows[0] == pytest.approx(s.value)

    v.label_dropdown.value = "nuclei"
    assert browser.wait_idle(WAIT)
    labelled = png(v.picture)
    assert labelled != contrast
    assert not hasattr(browser.navigation, "labels")  # one control chooses labels
    v.label_style.value = "fill"
    assert browser.wait_idle(WAIT)
    fill = png(v.picture)
    v.opacity_slider.value = 1.0
    assert browser.wait_idle(WAIT)
    assert png(v.picture) != fill

    # the level follows the zoom: the whole 96 px image in 512 px shows level 0; a view of
    # it in 40 px reads level 1 (the coarsest whose pixels are no larger than the screen's)
    assert not hasattr(v, "level_dropdown")
    assert v.view.session.plan_view(View(0, 0, 96, 96, 512, 512))[0] == 0
    assert v.view.session.plan_view(View(0, 0, 96, 96, 40, 40))[0] == 1
    assert "2 level(s)" in v.status.value


def test_label_chosen_through_the_browser_drives_the_overlay(browser):
    browser.select_label("nuclei")
    assert browser.wait_idle(WAIT)
    assert browser.viewer.label_dropdown.value == "nuclei"
    assert browser.viewer.view.spec.labels == ("nuclei",)


def test_stale_preview_is_dropped_when_changes_race(browser, monkeypatch):
    """z=0 is applied slowly, z=3 fast: the z=0 spec must never replace the z=3 one."""
    session = browser.viewer.view.session
    real = session.set_spec
    applied: list[int | None] = []

    def slow_for_z0(spec):
        if spec.z == 0:
            time.sleep(1.0)
        real(spec)
        applied.append(spec.z)

    browser.viewer.z_slider.value = 3
    assert browser.wait_idle(WAIT)
    expected = png(browser.viewer.picture)
    monkeypatch.setattr(session, "set_spec", slow_for_z0)
    browser.viewer.z_slider.value = 0   # slow
    browser.viewer.z_slider.value = 3   # fast, newer
    assert browser.wait_idle(WAIT)
    assert applied and applied[-1] == 3 and browser.viewer.view.spec.z == 3
    assert png(browser.viewer.picture) == expected


def test_field_switch_and_fields(browser):
    before = png(browser.viewer.picture)
    browser.navigation.fields.value = "1"
    assert browser.wait_idle(WAIT)
    assert browser.node.path.endswith("B/03/1")
    assert png(browser.viewer.picture) != before


def test_table_pane_and_roi_zoom(browser):
    keys = [k for _, k in browser.navigation.tables.options]
    assert "plate/condition" in keys
    browser.navigation.tables.value = "nuclei_features"
    assert browser.wait_idle(WAIT)
    assert "<table" in browser.table_pane.html.value
    assert browser.table_pane.rows.layout.display == "none"  # not a ROI table
    assert browser.tabs.selected_index == TABLE_TAB

    whole = png(browser.viewer.picture)
    browser.navigation.tables.value = "FOV_ROI_table"
    assert browser.wait_idle(WAIT)
    assert "roi_table" in browser.table_pane.status.value
    rows = browser.table_pane.rows
    assert rows.layout.display == "" and rows.options
    rows.value = rows.options[0][1]
    assert browser.wait_idle(WAIT)
    assert browser.viewer.roi is not None
    assert "Zoomed to ROI" in browser.viewer.roi_html.value
    zoomed = png(browser.viewer.picture)
    assert zoomed != whole
    assert browser.viewer.view.focus["box"] is not None  # the view moved, nothing re-rendered
    browser.viewer.roi_reset.click()
    assert browser.wait_idle(WAIT)
    assert browser.viewer.roi is None and browser.viewer.view.focus["box"] is None
    assert png(browser.viewer.picture) == whole


def test_table_read_failure_is_a_readable_message(browser, monkeypatch):
    table = browser._tables["nuclei_features"]

    def broken():
        raise kit.RemoteError("GET failed after 5 attempt(s)", where="http://h/x?X-Amz-Signature=abc")

    monkeypatch.setattr(table, "to_pandas", broken)
    browser.navigation.tables.value = "nuclei_features"
    assert browser.wait_idle(WAIT)
    text = browser.table_pane.status.value
    assert "could not be reached" in text and "Traceback" not in text and "abc" not in text


# -- other roots -------------------------------------------------------------------------------


def test_browse_image_node_and_well_url(data_root):
    image = kit.open(str(data_root / "image.zarr"))
    b = kit.browse(image)
    assert b.wait_idle(WAIT)
    assert png(b.viewer.picture).startswith(b"\x89PNG")
    assert b.navigation.plate_box.layout.display == "none"
    b.close()
    w = kit.browse(str(data_root / "plate.zarr" / "B" / "04"), thumbnails=False)
    assert w.wait_idle(WAIT)
    assert w.navigation.fields.options == ("0", "1")
    assert png(w.viewer.picture).startswith(b"\x89PNG")
    w.close()


def test_browse_generic_group(tmp_path):
    import numpy as np
    import zarr

    root = zarr.open_group(tmp_path / "g.zarr", mode="w", zarr_format=2)
    root.create_group("sub")
    root.create_array("raw", data=np.arange(12, dtype="uint8").reshape(3, 4))
    write_image(tmp_path / "g.zarr" / "sub" / "img", axes="yx", shape=(32, 32), levels=1,
                labels=(), omero=False)
    b = kit.browse(str(tmp_path / "g.zarr"))
    assert b.wait_idle(WAIT), b.message.value
    members = dict((v, t) for t, v in b.navigation.members.options)
    assert set(members) == {"sub", "raw"}
    b.navigation.members.value = "raw"
    assert "(3, 4) uint8" in b.details.html.value
    b.navigation.members.value = "sub"
    assert b.wait_idle(WAIT)
    values = [v for _, v in b.navigation.members.options]
    assert "img" in values and values[0] != "img"  # ".." first
    b.navigation.members.value = "img"
    assert b.wait_idle(WAIT)
    assert png(b.viewer.picture).startswith(b"\x89PNG")
    b.navigation.members.value = values[0]  # up again
    assert {v for _, v in b.navigation.members.options} == {"sub", "raw"}
    b.close()


def test_missing_source_is_a_readable_message(tmp_path):
    b = kit.browse(str(tmp_path / "nothing.zarr"))
    assert b.wait_idle(WAIT)
    assert "Not found" in b.message.value
    assert "Traceback" not in b.message.value and "File \"" not in b.message.value


# -- remote: spinner, login, secrets -------------------------------------------------------------


def test_spinner_shows_while_remote_data_arrives(data_root):
    with DemoServer(data_root, latency=0.3) as srv:
        b = kit.browse(srv.url + "plate.zarr", thumbnails=False)
        assert "kit-spin" in b.spinner.value
        assert b.wait_idle(WAIT)
        assert b.spinner.value == ""
        assert set(b.navigation.well_buttons) == {"B/03", "B/04"}
        b.close()


def test_login_good_password_registers_and_open_just_works(server, password, caplog):
    caplog.set_level(logging.DEBUG)
    url = server.url + "plate.zarr"
    with pytest.raises(kit.AuthenticationError):
        kit.open(url)
    waiting = kit.browse(url, thumbnails=False)  # opened before signing in: 401
    assert waiting.wait_idle(WAIT)
    assert "401" in waiting.message.value and "kit.login" in waiting.message.value

    server.latency = 0.3
    prompt = kit.login(url)
    assert isinstance(prompt, LoginWidget)
    assert "NGFF_KIT_TOKEN" in prompt.help.value and "NGFF_KIT_PASSWORD" in prompt.help.value
    prompt.username.value = "demo"
    prompt.password.value = password
    prompt.submit.click()
    assert prompt.password.value == ""  # cleared at once, before the check's answer
    assert prompt.submit.disabled and "Checking" in prompt.status.value
    assert prompt.wait_idle(WAIT)
    server.latency = 0.0
    assert "Signed in" in prompt.status.value, prompt.status.value
    assert url_origin(url) in [str(o) for o in kit.credentials.origins()]
    node = kit.open(url)  # no auth=: the registry has it
    assert isinstance(node, kit.Plate)

    assert waiting.wait_idle(WAIT)  # the early browser reloaded itself after the sign-in
    assert set(waiting.navigation.well_buttons) == {"B/03", "B/04"}
    waiting.navigation.well_buttons["B/03"].click()
    assert waiting.wait_idle(WAIT)
    assert png(waiting.viewer.picture).startswith(b"\x89PNG")

    assert_secret_nowhere(password, prompt, waiting, log_text=caplog.text)
    waiting.close()


def url_origin(url: str) -> str:
    return str(kit.auth.origin_of(url))


def test_login_bad_password_registers_nothing(server, password, caplog):
    caplog.set_level(logging.DEBUG)
    prompt = kit.login(server.url + "plate.zarr", username="demo")
    prompt.password.value = "wrong-" + password
    prompt.submit.click()
    assert prompt.password.value == ""
    assert prompt.wait_idle(WAIT)
    assert "Sign-in failed" in prompt.status.value and "401" in prompt.status.value
    assert len(kit.credentials) == 0
    assert not prompt.submit.disabled
    assert_secret_nowhere("wrong-" + password, prompt, log_text=caplog.text)


def test_login_unreachable_server(caplog):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prompt = kit.login(f"http://127.0.0.1:{port}/data.zarr", username="demo", timeout=5)
    prompt.password.value = "pw-unreachable-123"
    t0 = time.monotonic()
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    assert time.monotonic() - t0 < 20
    assert "Could not reach" in prompt.status.value
    assert len(kit.credentials) == 0
    assert_secret_nowhere("pw-unreachable-123", prompt, log_text=caplog.text)


def test_login_permission_denied(server, password):
    server.fail_next(8, status=403)
    prompt = kit.login(server.url + "plate.zarr", username="demo")
    prompt.password.value = password
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    assert "403" in prompt.status.value and "denied" in prompt.status.value
    assert len(kit.credentials) == 0


def test_login_with_token_and_url_field(data_root, caplog):
    caplog.set_level(logging.DEBUG)
    token = "tok-" + secrets.token_hex(10)
    with DemoServer(data_root, auth="bearer", token=token) as srv:
        prompt = kit.login(kind="token")
        assert prompt.url_text in prompt.children and prompt.username not in prompt.children
        prompt.password.value = token
        prompt.submit.click()  # no URL yet
        assert prompt.password.value == "" and "URL" in prompt.status.value
        prompt.url_text.value = srv.url + "image.zarr"
        prompt.password.value = token
        prompt.submit.click()
        assert prompt.wait_idle(WAIT)
        assert "Signed in" in prompt.status.value
        assert isinstance(kit.open(srv.url + "image.zarr"), kit.Image)
        assert_secret_nowhere(token, prompt, log_text=caplog.text)


def test_login_form_validation_messages():
    prompt = kit.login("http://127.0.0.1:9/x.zarr")
    prompt.submit.click()
    assert "password" in prompt.status.value
    prompt.password.value = "pw-123456"
    prompt.submit.click()
    assert "username" in prompt.status.value and prompt.password.value == ""
    with pytest.raises(ValueError):
        kit.login(kind="kerberos")
    assert "pw-123456" not in repr(prompt) and repr(prompt).startswith("<LoginWidget")


def test_secret_is_not_in_the_prompt_state_after_submit(server, password):
    prompt = kit.login(server.url + "plate.zarr", username="demo")
    prompt.password.value = password
    # the value left the synced state the moment it arrived (kept privately until submit)
    assert password not in json.dumps(prompt.password.get_state())
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    for child in [prompt, *prompt.children]:
        assert password not in json.dumps(child.get_state(), default=repr)
        assert password not in repr(child)
    assert password not in prompt.status.value


def test_the_password_field_takes_the_secret_as_a_message_never_as_state(server, password):
    """What the page sends (kit.widgets.secret): the typed text as a custom message, with
    ``submit`` on Enter. No model holds it: neither the field's state nor any other's."""
    prompt = kit.login(server.url + "plate.zarr", username="demo")
    field = prompt.password
    assert "value" not in field.get_state() and "value" not in field.keys
    field._handle_custom_msg({"event": "secret", "value": password, "submit": False}, [])
    assert prompt._secret == password and field.value == ""
    assert "hidden" in field.placeholder and prompt.status.value == ""  # blur: not submitted
    assert_secret_nowhere(password, prompt)
    field._handle_custom_msg({"event": "secret", "value": "", "submit": True}, [])  # Enter
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value
    assert_secret_nowhere(password, prompt)


def test_userinfo_pasted_into_the_url_box_is_removed():
    prompt = kit.login(kind="token")
    prompt.url_text.value = "http://demo:pw-in-url-123@127.0.0.1:9/x.zarr"
    prompt.password.value = "tok-123456"
    prompt.submit.click()
    assert prompt.url_text.value == "http://127.0.0.1:9/x.zarr"
    assert prompt.wait_idle(WAIT)
    for child in [prompt, *prompt.children]:
        state = json.dumps(child.get_state(), default=repr)
        assert "pw-in-url-123" not in state and "tok-123456" not in state


def test_time_slider_and_label_root(tmp_path):
    path = write_image(tmp_path / "tczyx.zarr", axes="tczyx", shape=(3, 2, 2, 48, 48), levels=1)
    b = kit.browse(str(path))
    assert b.wait_idle(WAIT), b.message.value
    t = b.viewer.t_slider
    assert t.layout.display == "" and t.max == 2 and t.continuous_update is False
    before = png(b.viewer.picture)
    t.value = 2
    assert b.wait_idle(WAIT)
    assert png(b.viewer.picture) != before
    b.close()

    label = kit.open(str(path)).labels["nuclei"]
    lb = kit.browse(label)
    assert lb.wait_idle(WAIT), lb.message.value
    assert png(lb.viewer.picture).startswith(b"\x89PNG")
    assert lb.viewer.channel_box.layout.display == "none"  # a label has colours, not channels
    lb.close()


# -- the render layer underneath: one redaction call, describe() in the details pane ------------


def test_the_browser_title_goes_through_the_kits_redaction(data_root, monkeypatch):
    """Before and after the root loads, every URL in the title is the redaction function's
    output (issue 18: a password with '/' must not leak through a second, raw path)."""
    import kit.widgets.browser as browser

    seen: list[str] = []

    def marking(url: str) -> str:
        seen.append(url)
        return "REDACTED[" + url.rsplit("/", 1)[-1] + "]"

    monkeypatch.setattr(browser, "redact", marking)
    with DemoServer(data_root, latency=0.2) as srv:
        b = kit.browse(srv.url + "image.zarr", thumbnails=False)
        assert "REDACTED[image.zarr]" in b.title.value and srv.url not in b.title.value
        assert b.wait_idle(WAIT)
        assert "REDACTED[image.zarr]" in b.title.value, b.title.value
        assert srv.url not in b.title.value
        b.close()
    assert len(seen) >= 2


def test_a_broken_tables_group_is_shown_in_details_without_touching_node_caches(tmp_path):
    path = write_image(tmp_path / "img.zarr", axes="cyx", shape=(2, 32, 32), levels=1,
                       labels=("nuclei",), tables=True)
    attrs = json.loads((path / "tables" / ".zattrs").read_text())
    attrs["tables"] = "not a list"
    (path / "tables" / ".zattrs").write_text(json.dumps(attrs))
    image = kit.open(str(path))
    b = kit.browse(image)
    assert b.wait_idle(WAIT)
    assert png(b.viewer.picture).startswith(b"\x89PNG")  # the image is still shown
    details = b.details.html.value
    assert "InvalidMetadata" in details and "tables" in details and "nuclei" in details
    assert b.navigation.tables.options == ()
    assert "tables" not in image._cache  # the browser kept its own record, not a fake cache
    b.close()


def test_plate_grid_thumbnails_read_one_field_and_one_level_per_well(data_root):
    """Issue 16: the browser's plate grid reads what it shows, like the plate overview: each
    well's first field, and one level (the first thumbnail's field reads both, to pick)."""
    import numpy as np
    from matplotlib.image import imread

    with DemoServer(data_root) as srv:
        b = kit.browse(srv.url + "plate.zarr")
        assert b.wait_idle(WAIT)
        paths = [r.path for r in srv.requests]
        b.close()
        plate = kit.open(srv.url + "plate.zarr")
        expected = {k: kit.preview(plate[k], max_size=64) for k in ("B/03", "B/04")}
    assert not [p for p in paths if "/B/03/1/" in p or "/B/04/1/" in p]  # second fields
    levels = [p for p in paths if p.endswith(".zarray") and "/labels/" not in p]
    assert len(levels) == 3, levels  # was 4: both levels of both first fields
    for key, image in b.navigation.thumbnails.items():
        import io

        shown = np.rint(imread(io.BytesIO(png(image)), format="png")[..., :3] * 255)
        assert np.array_equal(shown.astype(np.uint8), expected[key]), key
