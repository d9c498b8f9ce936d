"""``consolidate PATH``: all metadata of a local dataset in one document, before publishing.

A reader then gets the whole hierarchy's metadata in one request instead of one per group and
array (a plate over HTTP: one round trip instead of hundreds).
"""

from __future__ import annotations

import argparse

from kit.cli.exits import EXIT_OK
from kit.cli.output import say


def cmd_consolidate(args: argparse.Namespace) -> int:
    import kit

    written = kit.consolidate(args.path)
    say(f"wrote consolidated metadata: {written}")
    return EXIT_OK
