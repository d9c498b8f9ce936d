"""Notebook widgets (core ipywidgets only): the credential prompt and the dataset browser.

The top layer: only UI. It renders through ``kit.render`` and walks the nodes; every load runs
off the kernel's main thread, and no secret ever becomes widget state.
"""

from kit.widgets.browser import Browser, browse
from kit.widgets.prompt import LoginWidget, login

__all__ = ["Browser", "browse", "LoginWidget", "login"]
