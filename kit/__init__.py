"""ngff-kit: open, browse and preview OME-Zarr (OME-NGFF) wherever it lives, from a notebook."""

from kit import cache as cache
from kit._version import __version__ as __version__
from kit.api import open
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
from kit.io.consolidate import consolidate
from kit.nodes import Group, Image, Label, Level, Plate, Table, Well
from kit.nodes.validation import validate
from kit.render import plate_overview, preview, show
from kit.widgets import browse, login
from kit.widgets.view import view

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
