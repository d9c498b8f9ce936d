"""`Report` and `validate_attributes`: the kit's MUST (and, strict, SHOULD) rules as a verdict.

The rules are the parser's own (one place decides what is valid): a document is valid when
`parse_attributes` reads it, its errors name the field path, its warnings are what was read
anyway. `kit.validate` applies the same to a hierarchy read the way `kit.open` reads it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from kit.errors import InvalidMetadata, KitWarning

from .parse import parse_attributes
from .version import OME_KEYS


@dataclass(frozen=True)
class Issue:
    """One violation: the field path in the document (`ome.multiscales[0].axes`) and why."""

    field: str
    message: str
    where: str | None = None

    def __str__(self) -> str:
        return f"{self.where + ': ' if self.where else ''}{self.field}: {self.message}"


@dataclass(frozen=True)
class Report:
    """Validity verdict: `errors` (empty when valid) and `warnings` (readable deviations)."""

    valid: bool
    errors: tuple[Issue, ...] = ()
    warnings: tuple[str, ...] = ()
    version: str | None = None

    @property
    def message(self) -> str:
        """One line: the first error, else 'valid' (with the number of warnings)."""
        if self.errors:
            more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            return str(self.errors[0]) + more
        tail = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return f"valid NGFF {self.version}{tail}" if self.version else f"valid{tail}"


def issue_of(exc: InvalidMetadata) -> Issue:
    """The field path and message of a kit error ("field: message" after its `where`)."""
    field, sep, message = exc.message.partition(": ")
    return Issue(field, message, exc.where) if sep else Issue("", exc.message, exc.where)


def validate_attributes(attrs: Any, *, strict: bool = False, where: str = "attributes",
                        zarr_format: int | None = None, exact_dialect: bool = True) -> Report:
    """Validate one group's attributes document (what `--attributes` checks); forms of
    another dialect (0.6.dev strings in a 0.6rc0 document) are errors here."""
    if isinstance(attrs, dict) and "_conformance" in attrs:  # the spec corpus' own label
        attrs = {k: v for k, v in attrs.items() if k != "_conformance"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        try:
            meta = parse_attributes(attrs, zarr_format=zarr_format, where=where, strict=strict,
                                    exact_dialect=exact_dialect)
        except InvalidMetadata as exc:
            return Report(False, (issue_of(exc),))
    if meta.version is None:
        return Report(False, (Issue("attributes", "no OME-NGFF metadata", where),))
    if meta.kind == "group":
        return Report(False, (no_node(where, zarr_format),))
    return Report(True, (), meta.warnings, str(meta.version))


def no_node(where: str, zarr_format: int | None = None) -> Issue:
    """A versioned document that is none of the kinds (the schema's anyOf matches nothing)."""
    keys = ", ".join(k for k in OME_KEYS if k != "omero")
    return Issue("ome" if zarr_format != 2 else "attributes",
                 f"no OME-Zarr node: none of {keys}", where)
