"""``serve PATH``: share a local dataset with a class, behind a password.

A secret is never prompted for: the user's own comes from an option or a variable, otherwise
one is made up and printed once. Plain HTTP beyond loopback is warned about.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
from pathlib import Path

from kit.cli.credentials import login_help, password_option, token_option
from kit.cli.exits import EXIT_OK, UsageError, port_error
from kit.cli.output import remember_secret, say, warn

DEFAULT_USER = "demo"


def port_number(text: str) -> int:
    """argparse type of ``--port``: 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, not {value}")
    return value


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve_secret(args: argparse.Namespace) -> tuple[str, str | None, str, bool]:
    """(auth kind, user, secret, generated?) for ``serve``; never prompts for a new secret."""
    token = token_option(args)
    if token is not None:
        if args.user or args.password is not None or args.password_env:
            raise UsageError("give --token or --user/--password, not both")
        return "bearer", None, token, False
    user = args.user or DEFAULT_USER
    password = password_option(args, user, prompt=False)
    if password:
        return "basic", user, password, False
    return "basic", user, remember_secret(secrets.token_urlsafe(12)) or "", True


def cmd_serve(args: argparse.Namespace) -> int:
    """``serve PATH``: share a local dataset over HTTP with Basic or Bearer auth."""
    from kit.demo.server import DemoServer

    root = Path(args.path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    kind, user, secret, generated = serve_secret(args)
    if not is_loopback(args.host):
        warn(f"serving on {args.host} over plain HTTP: the password crosses the network "
             "unencrypted; put an HTTPS proxy in front for anything but a trusted room")
    server = DemoServer(root, auth=kind, username=user or DEFAULT_USER,
                        password=secret if kind == "basic" else None,
                        token=secret if kind == "bearer" else None, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        raise port_error(exc, args.host, args.port) from None
    how = "HTTP Basic" if kind == "basic" else "bearer token"
    say(f"Serving {root.resolve()} at {server.url}  ({how}; Ctrl-C to stop)")
    if generated:
        say(f"  user: {user}   password: {secret}   (generated; shown once, not stored anywhere)")
    elif kind == "basic":
        say(f"  user: {user}   password: the one you gave")
    else:
        say("  token: the one you gave")
    for line in login_help(server.url, user, token=kind == "bearer"):
        say(line)
    server.serve_forever()
    return EXIT_OK
