"""`kit.validate(source)`: is this OME-Zarr valid, and if not, which field is wrong.

Reads exactly what `kit.open` reads (the node's own attributes document, then each level's
array metadata; no listing), with the same credentials, so it works wherever `kit.open` does.
Missing level arrays are reported as warnings: the spec's own conformance hierarchies are
metadata only.
"""

from __future__ import annotations

import warnings
from typing import Any

from kit.errors import InvalidMetadata, KitWarning, NotFound
from kit.ngff.validate import Issue, Report, issue_of, no_node, validate_attributes
from kit.ngff.version import V06_VERSIONS
from kit.nodes.image import Image
from kit.nodes.opening import open as kit_open


def validate(source: Any, strict: bool = False, *, auth: Any = None,
             storage_options: dict | None = None) -> Report:
    """Validate the OME-Zarr node at ``source`` (any source `kit.open` takes).

    ``strict`` also applies the SHOULD rules (what the strict_* schemas require).
    """
    found: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", KitWarning)
        try:
            node = kit_open(source, auth=auth, storage_options=storage_options)
        except InvalidMetadata as exc:
            return Report(False, (issue_of(exc),))
        meta = node.meta
        if meta.version is None:
            return Report(False, (Issue("attributes", "no OME-NGFF metadata", node.url),))
        if meta.kind == "group":
            return Report(False, (no_node(node.url),))
        if strict:
            wrapped = str(meta.version) in ("0.5",) + V06_VERSIONS  # read from `ome`
            raw = {"ome": meta.raw} if wrapped else meta.raw
            report = validate_attributes(raw, strict=True, where=node.url, exact_dialect=False)
            if not report.valid:
                return report
        if isinstance(node, Image) and node.meta.multiscales:
            for i in range(len(node.meta.multiscales[0].datasets)):
                try:
                    node.level(i)
                except NotFound as exc:
                    found.append(f"level {i}: {exc.message} (not checked)")
                except InvalidMetadata as exc:
                    return Report(False, (issue_of(exc),))
    found = [str(w.message) for w in record if issubclass(w.category, KitWarning)] + found
    return Report(True, (), tuple(found), str(meta.version))
