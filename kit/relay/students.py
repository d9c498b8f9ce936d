"""Who is asking: a class password (HTTP Basic) or per-student tokens (Bearer).

Tokens file (``--students FILE``): one student a line, ``name token``, separated by spaces or a
tab; blank lines and lines starting with ``#`` are ignored. Names and tokens are unique, a
token has at least 8 characters and no spaces. The access log and the status page show the
name, never the token.

    # name   token
    alice    3q9d1-W8x2Lp
    bob      Zr7_k0aQf2vM
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import KitError

MIN_TOKEN = 8
REALM = 'realm="ngff-kit relay"'


@dataclass(frozen=True, repr=False)
class ClassPassword:
    """One user name and password for the whole class (students told apart by address)."""

    user: str
    password: str

    scheme = "Basic"

    def identify(self, authorization: str, peer: str) -> str | None:
        """The student's identity, or None when the header does not carry the password."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode(
                "utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok = hmac.compare_digest(f"{user}:{password}".encode(),
                                 f"{self.user}:{self.password}".encode())
        return f"{user}@{peer}" if ok and sep else None

    def secrets(self) -> tuple[str, ...]:
        return (self.password,)

    def __repr__(self) -> str:
        return f"ClassPassword(user={self.user!r})"


@dataclass(frozen=True, repr=False)
class StudentTokens:
    """A token per student, from a tokens file (``load_tokens``) or a mapping name -> token."""

    tokens: dict[str, str] = field(default_factory=dict)  # name -> token

    scheme = "Bearer"

    def identify(self, authorization: str, peer: str) -> str | None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        given = value.strip().encode()
        found = None
        for name, token in self.tokens.items():  # compare every token: no timing hint
            if hmac.compare_digest(given, token.encode()):
                found = name
        return found

    def secrets(self) -> tuple[str, ...]:
        return tuple(self.tokens.values())

    def __repr__(self) -> str:
        return f"StudentTokens({len(self.tokens)} students)"


Students = ClassPassword | StudentTokens


def challenge(students: Students) -> str:
    """The ``WWW-Authenticate`` header of a 401."""
    return f"{students.scheme} {REALM}"


def load_tokens(path: str | Path) -> StudentTokens:
    """Read a tokens file; a bad line is a KitError naming its line, never its token."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KitError(f"cannot read the students file ({type(exc).__name__})",
                       where=where) from None
    tokens: dict[str, str] = {}
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise KitError(f"line {number}: expected 'name token' (two words), found "
                           f"{len(parts)}", where=where)
        name, token = parts
        if name in tokens:
            raise KitError(f"line {number}: student {name!r} is listed twice", where=where)
        if len(token) < MIN_TOKEN:
            raise KitError(f"line {number}: the token of {name!r} is shorter than {MIN_TOKEN} "
                           "characters", where=where)
        if token in seen:
            raise KitError(f"line {number}: the token of {name!r} is also another student's",
                           where=where)
        tokens[name] = token
        seen.add(token)
    if not tokens:
        raise KitError("no student in the file (one 'name token' a line)", where=where)
    return StudentTokens(tokens)
