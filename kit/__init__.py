"""ngff-kit: open, browse and preview OME-Zarr (OME-NGFF) wherever it lives, from a notebook.

``import kit`` loads only the credentials and the errors; every other public name (``kit.open``,
the nodes, the renderers, the widgets) is imported on first use (PEP 562 ``__getattr__``), so a
script that never opens anything pays ~0.1 s instead of ~0.9 s (zarr alone is ~0.6 s here), and
dask, pandas, matplotlib, ipywidgets and aiohttp load only when a call needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kit._version import __version__ as __version__
from kit.auth import (
    AzureCredentials,
    BasicAuth,
    BearerToken,
    DandiToken,
    GCSCredentials,
    Headers,
    S3Credentials,
    credentials,
)
from kit.errors import (
    AuthenticationError,
    InvalidData,
    InvalidMetadata,
    KitError,
    KitWarning,
    NotFound,
    PermissionDenied,
    RemoteError,
    UnsupportedVersion,
)

if TYPE_CHECKING:  # the lazy names, for type checkers and editors
    from kit.api import open
    from kit.io.consolidate import consolidate
    from kit.nodes import Group, Image, Label, Level, Plate, Table, Well
    from kit.nodes.validation import validate
    from kit.render import plate_overview, preview, show
    from kit.widgets import browse, login
    from kit.widgets.view import view

# public name -> the module that defines it (imported on first access)
_LAZY = {
    "open": "kit.api", "consolidate": "kit.io.consolidate", "validate": "kit.nodes.validation",
    **dict.fromkeys(("Group", "Image", "Label", "Level", "Plate", "Table", "Well"), "kit.nodes"),
    **dict.fromkeys(("plate_overview", "preview", "show"), "kit.render"),
    **dict.fromkeys(("browse", "login"), "kit.widgets"),
    "view": "kit.widgets.view",
}
# subpackages reachable as attributes (``kit.io.loop`` after a bare ``import kit``)
_SUBPACKAGES = {"api", "auth", "cache", "cli", "demo", "errors", "io", "ngff", "nodes", "relay",
                "render", "tables", "widgets"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        # the render layer installs the nodes' notebook card: it comes with any node
        importlib.import_module("kit.render")
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"kit.{name}")
    else:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBPACKAGES)


__all__ = [
    "open", "consolidate",
    "BasicAuth", "BearerToken", "DandiToken", "Headers", "S3Credentials", "credentials",
    "GCSCredentials", "AzureCredentials",
    "KitError", "KitWarning", "AuthenticationError", "PermissionDenied", "NotFound",
    "InvalidMetadata", "InvalidData", "UnsupportedVersion", "RemoteError",
    "Plate", "Well", "Image", "Label", "Level", "Table", "Group",
    "preview", "show", "plate_overview",
    "login", "browse", "validate", "view",
]
