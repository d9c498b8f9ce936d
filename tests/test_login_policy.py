"""kit.login and kit.browse with hostile URLs and honest statuses (headless, real DemoServer).

- "Signed in" only when the server checked the credential; an open server is said to be open
  and nothing is registered;
- the typed secret is never in the synced widget state, not even before Sign in, and Enter
  submits;
- a password written unescaped in a URL (``/``, ``#``, ``?``, ``@``) never reaches the URL box,
  the status line or the browser's title.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

import kit
from kit.demo.generate import write_image
from kit.demo.server import DemoServer

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

WAIT = 60.0
PASSWORD = "pw-" + secrets.token_hex(6)
RAW_SECRETS = ("pa/ss#w?rd", "pa@ss/x", "pa?ss")  # each written unescaped after "user:"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("login")
    write_image(root / "image.zarr", axes="cyx", shape=(1, 32, 32), levels=1)
    return root


@pytest.fixture
def basic(root):
    with DemoServer(root, auth="basic", username="demo", password=PASSWORD) as srv:
        yield srv


def state_text(prompt) -> str:
    return "".join(json.dumps(c.get_state(), default=repr) for c in [prompt, *prompt.children])


def enter(field) -> None:
    """What the front end sends when Enter is pressed in a text field."""
    field._handle_custom_msg({"event": "submit"}, [])


def test_open_server_is_not_signed_in(root) -> None:
    with DemoServer(root) as srv:  # asks for no credentials at all
        prompt = kit.login(srv.url + "image.zarr", username="demo")
        prompt.password.value = PASSWORD
        prompt.submit.click()
        assert prompt.wait_idle(WAIT)
        status = prompt.status.value
        assert "Signed in" not in status and "No sign-in needed" in status, status
        assert len(kit.credentials) == 0
        assert srv.count(lambda r: r.authorization) == 0  # the password never left the kernel
        assert PASSWORD not in status + state_text(prompt)


def test_checked_credential_is_signed_in(basic) -> None:
    prompt = kit.login(basic.url + "image.zarr", username="demo")
    prompt.password.value = PASSWORD
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value
    assert kit.credentials.lookup(basic.url) == kit.BasicAuth("demo", PASSWORD)


def test_typed_password_is_never_synced_state_and_enter_submits(basic) -> None:
    prompt = kit.login(basic.url + "image.zarr", username="demo")
    assert prompt.password.continuous_update is False  # no value per keystroke
    prompt.password.value = PASSWORD  # the value the front end syncs on blur or Enter
    assert PASSWORD not in state_text(prompt)
    assert prompt.password.value == "" and "hidden" in prompt.password.placeholder
    enter(prompt.password)
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value
    assert PASSWORD not in state_text(prompt)


def test_enter_before_the_value_arrives_still_submits(basic) -> None:
    prompt = kit.login(basic.url + "image.zarr", username="demo")
    enter(prompt.password)  # the key's message may come before the value's sync
    assert prompt.status.value == ""
    prompt.password.value = PASSWORD
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value


def test_enter_in_the_username_field_submits(basic) -> None:
    prompt = kit.login(basic.url + "image.zarr")
    prompt.password.value = PASSWORD
    prompt.username.value = "demo"
    enter(prompt.username)
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value


@pytest.mark.parametrize("raw", RAW_SECRETS)
def test_unescaped_password_never_in_url_box_or_status(basic, raw: str) -> None:
    prompt = kit.login(kind="token")
    hostile = basic.url.replace("http://", f"http://demo:{raw}@") + "image.zarr"
    prompt.url_text.value = hostile
    assert raw not in prompt.url_text.value and "demo:" not in prompt.url_text.value
    assert prompt.url_text.value == basic.url + "image.zarr"
    prompt.password.value = "tok-" + secrets.token_hex(4)
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    assert raw not in prompt.status.value and raw not in state_text(prompt)


@pytest.mark.parametrize("raw", RAW_SECRETS)
def test_unescaped_password_in_a_fixed_login_url(basic, raw: str) -> None:
    hostile = basic.url.replace("http://", f"http://demo:{raw}@") + "image.zarr"
    prompt = kit.login(hostile, username="demo")
    prompt.password.value = PASSWORD
    prompt.submit.click()
    assert prompt.wait_idle(WAIT)
    assert "Signed in" in prompt.status.value, prompt.status.value
    assert raw not in prompt.status.value + state_text(prompt) + repr(prompt)


@pytest.mark.parametrize("raw", RAW_SECRETS)
def test_unescaped_password_not_in_browser_title_or_message(basic, raw: str) -> None:
    hostile = basic.url.replace("http://", f"http://demo:{raw}@") + "image.zarr"
    b = kit.browse(hostile, thumbnails=False)
    try:
        assert b.wait_idle(WAIT)
        text = b.title.value + b.message.value + repr(b)
        assert raw not in text and "demo:" not in b.title.value, text
        assert raw not in state_text(b)
    finally:
        b.close()
