"""Credential options of the SOURCE commands (``info``, ``preview``) and how to log in.

Explicit options become the ``auth=`` of ``kit.open``; without them the library's own chain
(environment, ``kit.credentials``, netrc) decides, exactly as in a notebook. Secrets given here
are remembered so no message can echo them; a password is prompted for without echo, never
hung on when there is no terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from kit.auth.env import ENV_ORIGINS, ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME
from kit.cli.exits import UsageError
from kit.cli.output import remember_secret, warn

# What a 401 on the command line needs besides the library's advice (which names the Python API).
CLI_AUTH_ADVICE = ("On the command line: --user NAME with --password-env VAR (or a prompt), "
                   "or --token-env VAR.")


def add_auth_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "credentials",
        f"Without these, {ENV_TOKEN} or {ENV_USERNAME}/{ENV_PASSWORD}, kit.credentials and "
        "~/.netrc are used as in the library.")
    g.add_argument("--user", help="HTTP Basic user name (password: --password-env, else a prompt)")
    g.add_argument("--password", help="HTTP Basic password (visible in the process list: "
                   "prefer --password-env or the prompt)")
    g.add_argument("--password-env", metavar="VAR",
                   help="read the Basic password from this variable")
    g.add_argument("--token", help="bearer token (visible in the process list: prefer --token-env)")
    g.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")


def from_env(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise UsageError(f"environment variable {var} (the {what}) is not set or empty")
    return value


def ask_password(user: str) -> str:
    """A prompt that echoes nothing; refused (not hung) when there is no terminal."""
    if not sys.stdin.isatty():
        raise UsageError(f"no password for user {user!r}: use --password-env VAR or set "
                         f"{ENV_PASSWORD} (there is no terminal to ask on)")
    return getpass.getpass(f"Password for {user}: ")


def password_option(args: argparse.Namespace, user: str, *, prompt: bool = True) -> str | None:
    """The password from --password (with a warning), --password-env, $NGFF_KIT_PASSWORD or a
    prompt."""
    if args.password is not None and args.password_env:
        raise UsageError("give --password or --password-env, not both")
    if args.password is not None:
        warn("--password on the command line is visible in the process list; "
             "prefer --password-env VAR or the prompt")
        return remember_secret(args.password)
    if args.password_env:
        return remember_secret(from_env(args.password_env, "password"))
    if prompt and os.environ.get(ENV_PASSWORD):
        return remember_secret(os.environ[ENV_PASSWORD])
    return remember_secret(ask_password(user)) if prompt else None


def token_option(args: argparse.Namespace) -> str | None:
    if args.token is not None and args.token_env:
        raise UsageError("give --token or --token-env, not both")
    if args.token is not None:
        warn("--token on the command line is visible in the process list; prefer --token-env VAR")
        return remember_secret(args.token)
    if args.token_env:
        return remember_secret(from_env(args.token_env, "token"))
    return None


def credential_from_args(args: argparse.Namespace) -> Any:
    """The explicit ``auth=`` for kit.open, or None to let the library's chain decide."""
    import kit

    token = token_option(args)
    has_password = args.password is not None or bool(args.password_env)
    if token is not None:
        if args.user or has_password:
            raise UsageError("give a token or a user and password, not both")
        return kit.BearerToken(token)
    if args.user:
        return kit.BasicAuth(args.user, password_option(args, args.user) or "")
    if has_password:
        raise UsageError("--password/--password-env need --user")
    return None


def open_source(args: argparse.Namespace) -> Any:
    import kit

    return kit.open(args.source, auth=credential_from_args(args))


def login_help(url: str, user: str | None, *, token: bool) -> list[str]:
    """How a notebook user logs in; never contains the secret itself."""
    if token:
        env = f"  export {ENV_TOKEN}=<token> {ENV_ORIGINS}={url}"
        auth = 'auth=kit.BearerToken("<token>")'
        login = f'kit.login("{url}", kind="token")'
    else:
        env = f"  export {ENV_USERNAME}={user} {ENV_PASSWORD}=<password> {ENV_ORIGINS}={url}"
        auth = f'auth=kit.BasicAuth("{user}", "<password>")'
        login = f'kit.login("{url}", username="{user}")'
    return [
        "In a notebook:",
        "  import kit",
        f"  {login}    # a prompt; the password is not saved in the notebook",
        f'  data = kit.open("{url}")',
        f'or: kit.open("{url}", {auth})',
        "or set the variables before starting Jupyter (nothing in the notebook at all):",
        env,
    ]
