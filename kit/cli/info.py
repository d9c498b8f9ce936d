"""``info SOURCE``: the ``tree``-like text (or JSON) of a dataset's structure.

The summary is ``kit.render.describe``'s, the same one the notebook card and the browser's
details pane show (metadata only, no chunk read). This module only picks what to describe (a
v2 array that opens as a group is described as the array) and says which listed wells could not
be read, rather than dropping them without a word.
"""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

from kit.cli.credentials import open_source
from kit.cli.exits import EXIT_OK
from kit.cli.output import say
from kit.errors import KitWarning
from kit.render.describe import PlateSummary, Summary, describe, describe_text


def bare_array(node: Any) -> Any | None:
    """The zarr array when the node "opened as a group" is really an array (a v2 ``.zarray``
    with attributes looks like a group to the probe), else None."""
    from kit.io.loop import run_sync
    from kit.nodes import Group

    if not isinstance(node, Group) or node.meta.kind not in ("", None, "group"):
        return None
    location = node.location
    if run_sync(location.node_type()) != "array":
        return None
    return run_sync(location.open_array())


def warn_unread_wells(summary: PlateSummary, said: list[str]) -> None:
    """One warning naming the listed wells that were not read and not already warned about (a
    well folder without well metadata is otherwise dropped silently)."""
    read = {w.path for w in summary.wells}
    unread = [p for p in summary.well_paths if p not in read and not any(p in m for m in said)]
    if unread:
        warnings.warn(f"{summary.url}: {len(unread)} of {len(summary.well_paths)} listed wells "
                      f"could not be read (missing, or without well metadata): "
                      f"{', '.join(unread)}", KitWarning, stacklevel=2)


def summarise(node: Any) -> Summary:
    """What ``info`` prints of ``node``: its whole tree, the first error raised (strict)."""
    array = bare_array(node)
    if array is not None:
        summary = describe(array, strict=True)
        summary.url, summary.version = node.url, node.version
        return summary
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = describe(node, deep=True, strict=True)
    for w in caught:  # said again, once each, outside the recorder
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if isinstance(summary, PlateSummary):
        warn_unread_wells(summary, [str(w.message) for w in caught])
    return summary


def cmd_info(args: argparse.Namespace) -> int:
    """``info SOURCE``: the tree of a dataset, as text or JSON."""
    summary = summarise(open_source(args))
    say(json.dumps(summary.to_dict(), indent=2) if args.json else describe_text(summary))
    return EXIT_OK
