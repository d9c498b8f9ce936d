"""ngff-kit: open, browse and preview OME-Zarr (OME-NGFF) wherever it lives, from a notebook."""

from kit.api import open
from kit.io.consolidate import consolidate
from kit.auth import (
    BasicAuth,
    BearerToken,
    DandiToken,
    Headers,
    S3Credentials,
    credentials,
)
from kit.auth import AzureCredentials, GCSCredentials
from kit.errors import (
    AuthenticationError,
    InvalidMetadata,
    KitError,
    KitWarning,
    NotFound,
    PermissionDenied,
    RemoteError,
    UnsupportedVersion,
)
from kit.nodes import Group, Image, Label, Level, Plate, Table, Well

import kit.tables  # noqa: E402,F401  - registers the table backends
from kit.render import plate_overview, preview, show  # noqa: E402 - also installs the node cards
from kit.widgets import browse, login  # noqa: E402

__all__ = [
    "open", "consolidate", "BasicAuth", "BearerToken", "DandiToken", "Headers", "S3Credentials", "credentials",
    "GCSCredentials", "AzureCredentials",
    "KitError", "KitWarning", "AuthenticationError", "PermissionDenied", "NotFound",
    "InvalidMetadata", "UnsupportedVersion", "RemoteError",
    "Plate", "Well", "Image", "Label", "Level", "Table", "Group",
    "preview", "show", "plate_overview",
    "login", "browse",
]
