"""Typed errors of the kit.

Every error names *where* (a URL or path, never with credentials in it) and *what* was wrong,
so a notebook user sees one readable line instead of a traceback from aiohttp or zarr.
"""

from __future__ import annotations


class KitError(Exception):
    """Base of every error the kit raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class AuthenticationError(KitError):
    """The server answered 401: credentials missing or wrong."""


class PermissionDenied(KitError):
    """The server answered 403: the credentials are valid but not allowed here."""


class NotFound(KitError, LookupError):
    """A required document, array or member does not exist (also a ``LookupError``)."""


class MemberNotFound(NotFound, KeyError):
    """A name missing from one of a node's mappings (labels, tables, members, wells).

    Also a ``KeyError``, so mapping code (``get``, ``in``, ``except KeyError``) keeps working.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class LevelNotFound(NotFound, IndexError):
    """A pyramid level index outside the image's levels (also an ``IndexError``)."""


class InvalidMetadata(KitError):
    """Metadata that exists but cannot be read: malformed JSON, or breaking a MUST rule of the
    spec."""


class InvalidROI(InvalidMetadata, ValueError):
    """A ROI row the kit cannot turn into a box (a column that is not a finite number)."""


class UnsupportedVersion(InvalidMetadata):
    """An NGFF or zarr version the kit does not read (anything but NGFF 0.4/0.5, zarr v2/v3)."""


class InvalidData(KitError):
    """Array bytes that cannot be decoded: a truncated or corrupt chunk."""


class RemoteError(KitError):
    """A remote failure that retries did not cure: 5xx, timeouts, dropped connections."""


class NotCached(KitError):
    """Offline (``kit.cache.offline()`` / ``NGFF_KIT_OFFLINE``), and the key is not in the cache."""


class KitWarning(UserWarning):
    """Real-world sloppiness that can be read: the kit reads it and says so."""
