"""Notebook widgets (core ipywidgets only): the credential prompt and the dataset browser.

The top layer: only UI. It renders through ``kit.render`` and walks the nodes; every load runs
off the kernel's main thread, and no secret ever becomes widget state. ipywidgets (and the
IPython machinery under it) is imported on first use, so ``import kit`` and the CLI stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit.widgets.browser import Browser
    from kit.widgets.prompt import LoginWidget

__all__ = ["Browser", "browse", "LoginWidget", "login"]


def login(url: str | None = None, kind: str = "basic", *, username: str = "",
          timeout: float = 15.0) -> LoginWidget:
    """A sign-in prompt for the server of ``url`` (``kind`` "basic" or "token").

    On success the credential is registered in ``kit.credentials`` for that origin only, so a
    later ``kit.open(url)`` just works. The password is cleared from the form on submit.
    """
    from kit.widgets.prompt import login as _login

    return _login(url, kind, username=username, timeout=timeout)  # type: ignore[arg-type]


def browse(source_or_node: Any, *, auth: Any = None, max_size: int = 512,
           thumbnails: bool = True) -> Browser:
    """A dataset browser for a node or anything ``kit.open`` takes (path, URL, refs, store)."""
    from kit.widgets.browser import browse as _browse

    return _browse(source_or_node, auth=auth, max_size=max_size, thumbnails=thumbnails)


def __getattr__(name: str) -> Any:
    if name == "Browser":
        from kit.widgets.browser import Browser

        return Browser
    if name == "LoginWidget":
        from kit.widgets.prompt import LoginWidget

        return LoginWidget
    raise AttributeError(f"module 'kit.widgets' has no attribute {name!r}")
