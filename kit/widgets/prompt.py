"""``kit.login()``: a credential prompt that leaves no secret behind.

Voila and nbclient have no stdin (``getpass`` raises there), so the prompt is a widget. Widget
state is saved into ``metadata.widgets`` by nbclient's ``store_widget_state`` and by JupyterLab's
"save widget state" (on every save, autosave included), so the secret is never state: the
password field (``kit.widgets.secret.SecretField``) sends what was typed to the kernel as a
message when the user leaves the field or presses Enter, and the moment a value arrives it is
moved into a private attribute. Neither the browser's model nor the kernel's ever holds it,
before or after Sign in. The credential then lives only in the session registry
(``kit.credentials``), never in a trait, a description, the status HTML, a repr or a log line.

"Signed in" means the server checked the credential: the dataset is first opened without one,
and a server that serves it anyway is reported as open (nothing is registered).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import ipywidgets as w

from kit.auth import (
    BasicAuth,
    BearerToken,
    Credential,
    Headers,
    Origin,
    credentials,
    origin_of,
    redact,
)
from kit.auth.env import ENV_ADVICE
from kit.auth.redact import strip_userinfo
from kit.errors import AuthenticationError, KitError, NotFound, PermissionDenied, RemoteError
from kit.io.http import HttpStore
from kit.io.kitstore import KitStore
from kit.nodes import opening
from kit.widgets._events import announce_login
from kit.widgets._messages import esc, readable_error, status_html
from kit.widgets._worker import Worker
from kit.widgets.secret import SecretField

__all__ = ["LoginWidget", "login"]

log = logging.getLogger(__name__)

Kind = Literal["basic", "token"]

#: Seconds one connection attempt (and each wait for data) may take during the check.
CHECK_TIMEOUT = 15.0


#: Sends nothing (an explicit empty credential: no registry, env or netrc lookup).
_NOTHING: Credential = Headers({})


def _open_with(url: str, credential: Credential, timeout: float) -> object:
    store = HttpStore(url, credential=credential, retries=1, timeout=timeout)
    return opening.open(KitStore(store, display=redact(url)))


def check_credential(url: str, credential: Credential, *, timeout: float = CHECK_TIMEOUT) -> bool:
    """Whether the server of ``url`` checked ``credential``: True when the dataset's root
    could not be read without it and could with it; False when it opens without any.

    Goes through the kit's own ``HttpStore`` (per-origin headers, redirects without credentials)
    with one retry and a short timeout, so a wrong port answers in seconds, not minutes. Raises
    the kit's error when the credential does not open the root either.
    """
    try:
        _open_with(url, _NOTHING, timeout)
        return False
    except (AuthenticationError, PermissionDenied, NotFound):
        pass  # refused (or hidden) without credentials: now ask with them
    _open_with(url, credential, timeout)
    return True


def _failure_text(exc: BaseException, origin: str) -> str:
    if isinstance(exc, AuthenticationError):
        return f"Sign-in failed: {origin} refused these credentials (HTTP 401). Nothing was saved."
    if isinstance(exc, PermissionDenied):
        return (f"{origin} denied access to this dataset with these credentials (HTTP 403): "
                "they may be valid but not allowed here. Nothing was saved.")
    if isinstance(exc, RemoteError):
        return f"Could not reach {origin}: {exc.message}. Nothing was saved."
    return f"Could not check the credentials: {readable_error(exc)} Nothing was saved."


class LoginWidget(w.VBox):
    """Username/password (or token) form for one origin; on success the session registry has it."""

    def __init__(self, url: str | None = None, kind: Kind = "basic", *, username: str = "",
                 timeout: float = CHECK_TIMEOUT) -> None:
        if kind not in ("basic", "token"):
            raise ValueError(f"kind must be 'basic' or 'token', not {kind!r}")
        self.kind: Kind = kind
        self.timeout = timeout
        self.origin: Origin | None = None
        self._worker = Worker(max_workers=1)
        self._secret: str | None = None  # the typed secret, never in a trait
        self._enter_pending = False  # Enter arrived before the value it submits
        self._fixed_url = strip_userinfo(url) if url else None
        title = "Sign in" + (f" to {esc(origin_of(self._fixed_url))}" if self._fixed_url else "")
        self.title = w.HTML(f"<b>{title}</b>")
        self.url_text = w.Text(value="", placeholder="https://host/path/to/data.zarr",
                               description="URL", continuous_update=False)
        self.username = w.Text(value=username, description="Username", continuous_update=False)
        self.password = SecretField(description="Token" if kind == "token" else "Password")
        self.submit = w.Button(description="Sign in", button_style="primary", icon="sign-in")
        self.status = w.HTML(value="")
        self.help = w.HTML(value=self._help_html())
        self.submit.on_click(self._on_submit)
        self.password.observe(self._take_secret, "value")
        self.url_text.observe(self._clean_url, "value")
        for field in (self.password, self.username, self.url_text):
            field.on_msg(self._on_field_msg)
        rows: list[w.Widget] = [self.title]
        if url is None:
            rows.append(self.url_text)
        if kind == "basic":
            rows.append(self.username)
        rows += [self.password, self.submit, self.status, self.help]
        super().__init__(children=rows, layout=w.Layout(max_width="520px"))
        self.add_class("ngff-kit-login")

    # -- never show the secret ---------------------------------------------------------------
    def __repr__(self) -> str:
        where = str(self.origin) if self.origin else (
            str(origin_of(self._fixed_url)) if self._fixed_url else "?")
        return f"<LoginWidget {self.kind} for {where}>"

    def _help_html(self) -> str:
        return ("<div style='line-height:1.35;font-size:85%'>The secret leaves this form as "
                "soon as you leave the field or press Enter, and is "
                "kept only in this Python session (<code>kit.credentials</code>). Without a "
                f"prompt: {esc(ENV_ADVICE)} in the environment of the Jupyter server before "
                "starting it; <code>kit.open(url)</code> then uses them there.</div>")

    # -- the secret never stays in a trait -------------------------------------------------------
    def _take_secret(self, change: dict[str, Any]) -> None:
        """A value arrived (blur, Enter, or code): keep it privately and clear the field's
        kernel copy (the page never kept one)."""
        if not change["new"]:
            return
        self._secret = change["new"]
        self.password.value = ""  # first thing: no trait keeps it, synced or not
        self.password.placeholder = "(entered, hidden)"
        if self._enter_pending:
            self._enter_pending = False
            self._on_submit()

    def _clean_url(self, change: dict[str, Any]) -> None:
        """``https://user:pw@host/...`` pasted into the URL box: the userinfo leaves at once."""
        clean = strip_userinfo(change["new"])
        if clean != change["new"]:
            self.url_text.value = clean

    def _on_field_msg(self, field: w.Widget, content: dict[str, Any], _buffers: object) -> None:
        """Enter in a field submits (the front end sends ``{"event": "submit"}``)."""
        if not isinstance(content, dict) or content.get("event") != "submit":
            return
        if self.submit.disabled:  # a check is running: Enter does not start a second one
            return
        if self._secret is not None or self.password.value:
            self._on_submit()
        elif field is self.password:
            self._enter_pending = True  # the value follows the Enter key's message

    # -- submit ------------------------------------------------------------------------------
    def _target_url(self) -> str:
        return strip_userinfo(self._fixed_url or self.url_text.value)

    def _on_submit(self, _button: object = None) -> None:
        secret = self._secret or self.password.value
        self._secret = None
        self.password.value = ""
        self.password.placeholder = ""
        url = self._target_url()
        credential: Credential | None
        try:
            credential = self._credential(secret)
        except (TypeError, ValueError) as exc:  # messages of the credential types never echo values
            self._show(str(exc), "error")
            return
        finally:
            del secret
        if credential is None:
            return
        try:
            origin = origin_of(url)
            if origin.scheme not in ("http", "https"):
                raise KitError("kit.login signs in to HTTP(S) servers only")
        except KitError as exc:
            self._show(f"Enter the dataset's http(s) URL first ({exc.message}).", "error")
            return
        shown = redact(url)
        self.submit.disabled = True
        self._show(f"Checking the credentials against {shown} …", "busy", spinner=True)
        self._worker.submit(
            "check",
            lambda: check_credential(url, credential, timeout=self.timeout),
            on_result=lambda checked: (self._succeeded(origin, credential, shown) if checked
                                       else self._open_anyway(origin, shown)),
            on_error=lambda _msg, exc: self._failed(exc, origin),
        )

    def _credential(self, secret: str) -> Credential | None:
        if not secret:
            self._show("Enter the token first." if self.kind == "token"
                       else "Enter the password first.", "error")
            return None
        if self.kind == "token":
            return BearerToken(secret.strip())
        user = self.username.value.strip()
        if not user:
            self._show("Enter the username first.", "error")
            return None
        return BasicAuth(user, secret)

    def _succeeded(self, origin: Origin, credential: Credential, shown: str) -> None:
        credentials.register(origin, credential)
        self.origin = origin
        self.submit.disabled = False
        who = f" as {self.username.value.strip()}" if self.kind == "basic" else ""
        self._show(f"Signed in to {origin}{who}: {shown} opened. kit.open() on this server now "
                   "uses these credentials.", "ok")
        log.info("kit.login: credentials registered for %s", origin)
        announce_login(origin)

    def _open_anyway(self, origin: Origin, shown: str) -> None:
        self.submit.disabled = False
        self._show(f"No sign-in needed: {shown} opens without credentials, so {origin} never "
                   "checked them and nothing was saved.", "info")
        log.info("kit.login: %s needs no credentials; nothing registered", origin)

    def _failed(self, exc: BaseException, origin: Origin) -> None:
        self.submit.disabled = False
        self._show(_failure_text(exc, str(origin)), "error")

    def _show(self, text: str, kind: str, *, spinner: bool = False) -> None:
        self.status.value = status_html(text, kind, spinner=spinner)

    # -- tests and scripts ---------------------------------------------------------------------
    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for a pending credential check; False if ``timeout`` ran out."""
        return self._worker.wait_idle(timeout)


def login(url: str | None = None, kind: Kind = "basic", *, username: str = "",
          timeout: float = CHECK_TIMEOUT) -> LoginWidget:
    """A sign-in prompt for the server of ``url`` (``kind`` "basic" or "token").

    On success the credential is registered in ``kit.credentials`` for that origin only, so a
    later ``kit.open(url)`` just works. Display the returned widget (it is the cell's value).
    """
    return LoginWidget(url, kind, username=username, timeout=timeout)
