"""``validate SOURCE [--strict] [--json] [--attributes]``: the verdict on a dataset or document.

With ``--json`` it prints exactly one line ``{"valid": bool, "message": str}`` and exits 0
whatever the verdict (the contract of the spec's conformance runner, whose "dingus" it is);
without, the errors and warnings as text and exit code 5 when invalid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kit.cli.credentials import credential_from_args
from kit.cli.exits import EXIT_INVALID, EXIT_OK
from kit.cli.output import one_line, say
from kit.errors import InvalidMetadata, KitError
from kit.io.jsondoc import load_json
from kit.ngff.validate import Issue, Report, validate_attributes
from kit.nodes.validation import validate


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        report = _report(args)
    except KitError as exc:  # unreadable: not found, auth, remote; a verdict all the same
        if not args.json:
            raise
        report = Report(False, (Issue("", one_line(exc)),))
    if args.json:
        say(json.dumps({"valid": report.valid, "message": one_line_text(report.message)}))
        return EXIT_OK
    for e in report.errors:
        say(f"error: {e}")
    for w in report.warnings:
        say(f"warning: {w}")
    say(("valid" if report.valid else "INVALID") + (f" (NGFF {report.version})"
                                                     if report.version else ""))
    return EXIT_OK if report.valid else EXIT_INVALID


def one_line_text(text: str) -> str:
    return " ".join(text.split())


def _report(args: argparse.Namespace) -> Report:
    if args.attributes:
        path = Path(args.source)
        try:
            doc = load_json(path.read_bytes(), where=str(path), what="attributes document")
        except FileNotFoundError:
            return Report(False, (Issue("", f"{path}: no such file"),))
        except (InvalidMetadata, OSError) as exc:  # not JSON, too large or deep; unreadable
            return Report(False, (Issue("", one_line(exc)),))
        return validate_attributes(doc, strict=args.strict, where=str(path))
    return validate(args.source, strict=args.strict, auth=credential_from_args(args))
