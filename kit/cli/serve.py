"""``serve PATH``: share a local dataset with a class, behind a password; ``serve --mirror URL``:
the classroom relay (``kit.relay``) in front of a remote dataset.

A secret is never prompted for: the user's own comes from an option or a variable, otherwise
one is made up and printed once. Plain HTTP beyond loopback is warned about. The relay's
upstream credential comes from variables only and is never printed.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
from pathlib import Path
from typing import Any

from kit.cli.credentials import from_env, login_help, password_option, token_option
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

    if args.mirror is not None:
        if args.path is not None:
            raise UsageError("give a folder to serve or --mirror URL, not both")
        return cmd_mirror(args)
    for option in MIRROR_ONLY:
        if getattr(args, option.lstrip("-").replace("-", "_")) is not None:
            raise UsageError(f"{option} applies to the relay only (serve --mirror URL)")
    if args.path is None:
        raise UsageError("give a folder to serve, or --mirror URL for the classroom relay")
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


MIRROR_ONLY = ("--upstream-user", "--upstream-password-env", "--upstream-token-env", "--cache",
               "--students", "--access-log")


def upstream_credential(args: argparse.Namespace) -> tuple[Any, tuple[str, ...]]:
    """(``auth=`` for the upstream, its secrets): Basic or Bearer from variables, else None
    (the library's own chain: AWS_* for s3://, DANDI_API_KEY for DANDI refs, netrc...)."""
    import kit

    user, password_env, token_env = (args.upstream_user, args.upstream_password_env,
                                     args.upstream_token_env)
    if token_env and (user or password_env):
        raise UsageError("give --upstream-token-env or --upstream-user with "
                         "--upstream-password-env, not both")
    if token_env:
        token = remember_secret(from_env(token_env, "upstream token")) or ""
        return kit.BearerToken(token), (token,)
    if user or password_env:
        if not (user and password_env):
            raise UsageError("--upstream-user and --upstream-password-env go together")
        password = remember_secret(from_env(password_env, "upstream password")) or ""
        return kit.BasicAuth(user, password), (password,)
    return None, ()


def relay_students(args: argparse.Namespace) -> Any:
    """The class password (--user with --password-env) or the tokens file (--students)."""
    from kit.errors import KitError
    from kit.relay import ClassPassword, load_tokens

    if args.token is not None or args.token_env:
        raise UsageError("the relay gives each student a token with --students FILE "
                         "(one 'name token' a line); --token/--token-env serve a folder only")
    has_password = args.password is not None or bool(args.password_env)
    if args.students:
        if args.user or has_password:
            raise UsageError("give --students FILE or --user/--password-env, not both")
        try:
            tokens = load_tokens(args.students)
        except KitError as exc:
            raise UsageError(f"--students: {exc}") from None
        for token in tokens.secrets():
            remember_secret(token)
        return tokens
    user = args.user or DEFAULT_USER
    password = password_option(args, user, prompt=False)
    if not password:
        raise UsageError("the relay needs the students' credential: --user NAME with "
                         "--password-env VAR (a class password), or --students FILE (tokens)")
    return ClassPassword(user, password)


def cmd_mirror(args: argparse.Namespace) -> int:
    """``serve --mirror URL``: the classroom relay, until SIGINT or SIGTERM."""
    from kit.relay import Relay
    from kit.relay.accesslog import AccessLog
    from kit.relay.upstream import open_upstream

    credential, upstream_secrets = upstream_credential(args)
    students = relay_students(args)
    location = open_upstream(args.mirror, credential, cache=args.cache)
    if not is_loopback(args.host):
        warn(f"the relay listens on {args.host}, beyond this machine, over plain HTTP: the "
             "class password or tokens cross the network unencrypted (the upstream's "
             "credential never does); put an HTTPS proxy in front for anything but a "
             "trusted room")
    log_file = open(args.access_log, "a", encoding="utf-8") if args.access_log else None  # noqa: SIM115
    try:
        relay = Relay(location, students=students, host=args.host, port=args.port,
                      access_log=AccessLog(log_file), log=warn, secrets=upstream_secrets)
        try:
            relay.start()
        except OSError as exc:
            raise port_error(exc, args.host, args.port) from None
        say(f"Relaying {location.store.display} at {relay.url}  (SIGINT/SIGTERM to stop)")
        if args.students:
            say(f"  students: {len(students.tokens)}, each with their own token (Bearer)")
            for line in login_help(relay.url, None, token=True):
                say(line)
        else:
            say(f"  user: {students.user}   password: the one you gave")
            for line in login_help(relay.url, students.user, token=False):
                say(line)
        say(f"  status page: {relay.url}_relay/status")
        relay.serve_forever()
        say("relay stopped")
    finally:
        if log_file is not None:
            log_file.close()
    return EXIT_OK
