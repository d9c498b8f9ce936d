"""The documented exit codes and which error gets which (README, "Command line")."""

from __future__ import annotations

import errno

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
EXIT_AUTH, EXIT_INVALID, EXIT_REMOTE = 4, 5, 6
EXIT_INTERRUPTED = 130

CODES = {EXIT_OK: "ok", EXIT_USAGE: "usage error (bad option, or an option the data does not have)",
         EXIT_NOT_FOUND: "not found", EXIT_AUTH: "authentication or permission (401/403)",
         EXIT_INVALID: "invalid metadata or unsupported version", EXIT_REMOTE: "remote error",
         EXIT_ERROR: "anything else"}


class UsageError(Exception):
    """Bad combination of options, or one the data cannot honour (exit 2), found after argparse."""


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of a kit error (or of the OS errors a local path can raise)."""
    from kit.errors import (
        AuthenticationError,
        InvalidData,
        InvalidMetadata,
        NotFound,
        PermissionDenied,
        RemoteError,
    )
    from kit.render.spec import InvalidRenderSpec, NotRenderable

    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int]] = [
        ((AuthenticationError, PermissionDenied), EXIT_AUTH),
        ((NotFound, FileNotFoundError, NotADirectoryError), EXIT_NOT_FOUND),
        ((InvalidMetadata, InvalidData), EXIT_INVALID),
        (RemoteError, EXIT_REMOTE),
        ((UsageError, InvalidRenderSpec, NotRenderable), EXIT_USAGE),
    ]
    for types, code in table:
        if isinstance(exc, types):
            return code
    return EXIT_ERROR


def port_error(exc: OSError, host: str, port: int) -> UsageError | OSError:
    """A port that cannot be had is the user's choice to change: a usage error saying how."""
    if exc.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} on {host} is already in use: choose another with --port, "
                          "or --port 0 for a free one")
    if exc.errno == errno.EACCES:
        return UsageError(f"port {port} on {host} needs privileges: choose one above 1023 "
                          "with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"cannot listen on {host}: not an address of this machine (--host)")
    return exc
