"""The ``ngff-kit`` entry point: parse, run one command, map failures to an exit code.

Whatever happens, the user sees one line per error or warning and never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from kit.cli.credentials import CLI_AUTH_ADVICE
from kit.cli.exits import EXIT_INTERRUPTED, EXIT_OK, exit_code_for
from kit.cli.output import error, one_line, one_line_warnings
from kit.cli.parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ngff-kit`` with ``argv`` (default: the process's); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, bad usage (2): argparse has printed it
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with one_line_warnings():
            return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("ngff-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `ngff-kit info ... | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, never a traceback
        error(one_line(exc) + _advice(exc))
        return exit_code_for(exc)


def _advice(exc: BaseException) -> str:
    from kit.errors import AuthenticationError

    return " " + CLI_AUTH_ADVICE if isinstance(exc, AuthenticationError) else ""


if __name__ == "__main__":
    sys.exit(main())
