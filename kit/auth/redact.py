"""``redact``: the only form of a URL (or of a text quoting URLs) that may be shown.

Reprs, log lines, exception messages, widget values and CLI output pass URLs through here,
because userinfo and presigned or API-key query parameters carry secrets. The rules:

- everything between ``scheme://`` and the **last** ``@`` is userinfo and is dropped, so a
  password written unescaped in a URL (``https://bob:pa/ss#x@host/``) is never echoed, even
  though a strict parser would end the authority at its ``/``, ``#`` or ``?``. When that ``@``
  lies past the strict authority (a path or query with an ``@`` in it looks the same), the cut
  is marked ``***@`` so the shortened URL is not mistaken for another one;
- a URL whose authority cannot be parsed (bad port, broken IPv6 brackets) is replaced by a
  placeholder: its text may be a mangled secret;
- the value of every query (and fragment) parameter whose name contains ``sig``, ``token``,
  ``key``, ``auth``, ``secret``, ``passw``, ``pwd``, ``credential``, ``jwt`` or ``policy``
  (case-insensitive, after percent-decoding) becomes ``***``.

It imports nothing from the kit, so every layer may use it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

__all__ = ["SENSITIVE_NAME_PARTS", "UNPARSABLE", "is_sensitive_name", "redact", "strip_userinfo"]

#: A query parameter is secret when its (lower-cased, decoded) name contains one of these.
SENSITIVE_NAME_PARTS = ("sig", "token", "key", "auth", "secret", "passw", "pwd", "credential",
                        "jwt", "policy")

#: What an unparsable URL is shown as.
UNPARSABLE = "<unparsable URL>"

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]*")
_AUTHORITY = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\[\]:@/?#\\]*)(?::[0-9]*)?")
_CHAIN = re.compile(r"::(?=[a-zA-Z][a-zA-Z0-9+.-]*://)")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def is_sensitive_name(name: str) -> bool:
    """Whether a query parameter (or header) called ``name`` holds a secret."""
    lowered = unquote_plus(name).lower()
    return any(part in lowered for part in SENSITIVE_NAME_PARTS)


def _redact_params(text: str) -> str:
    out = []
    for item in text.split("&"):
        name, sep, _value = item.partition("=")
        out.append(f"{name}=***" if sep and is_sensitive_name(name) else item)
    return "&".join(out)


def _split(url: str) -> tuple[str, str, str, bool] | None:
    """(scheme, authority without userinfo, rest, cut past the strict authority) or None."""
    scheme, _, rest = url.partition("://")
    at = rest.rfind("@")
    loose = False
    if at >= 0:
        strict_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        loose = at > strict_end
        rest = rest[at + 1 :]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if not _AUTHORITY.fullmatch(authority):
        return None
    return scheme, authority, tail, loose


def strip_userinfo(url: str) -> str:
    """``url`` without anything before the last ``@`` of its authority (same rule as redact)."""
    url = str(url).strip()
    if "://" not in url or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest[rest.rfind('@') + 1 :]}"


def _redact_url(url: str) -> str:
    parts = _split(url)
    if parts is None:
        return UNPARSABLE
    scheme, authority, tail, loose = parts
    path, qmark, query = tail.partition("?")
    if not qmark:
        path, hmark, fragment = tail.partition("#")
    else:
        query, hmark, fragment = query.partition("#")
    out = f"{scheme}://{'***@' if loose else ''}{authority}{path}"
    if qmark:
        out += "?" + _redact_params(query)
    if hmark:
        out += "#" + _redact_params(fragment)
    return out


def _trailing_punctuation(token: str) -> int:
    """How many characters at the end of a URL found in prose are punctuation, not URL."""
    n = len(token)
    while n:
        c = token[n - 1]
        if c in ".,;:!'\"" or (c in _CLOSERS and token[:n].count(_CLOSERS[c]) < token[:n].count(c)):
            n -= 1
        else:
            break
    return len(token) - n


def _sub(match: re.Match[str]) -> str:
    token = match.group(0)
    cut = _trailing_punctuation(token)
    core, tail = (token[:-cut], token[-cut:]) if cut else (token, "")
    # fsspec chains ("zip://a.zarr::s3://bucket/a.zip"): each link is a URL of its own
    links = [_redact_url(link) if "://" in link else link for link in _CHAIN.split(core)]
    return "::".join(links) + tail


def redact(text: object) -> str:
    """``text`` (a URL, or prose quoting URLs) with every URL's secrets removed (rules above)."""
    return _URL.sub(_sub, str(text))
