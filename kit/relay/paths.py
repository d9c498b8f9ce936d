"""A request path as a key of the dataset, or a refusal: nothing outside the dataset is named.

The path is read as the client sent it (``request.raw_path``), each segment decoded once; a
segment that is ``.`` or ``..`` (also percent-encoded, once or twice), empty, or holds a slash,
backslash or NUL after decoding is refused, as is a target that is not a path (absolute-form
URLs) or is absurdly long.
"""

from __future__ import annotations

from urllib.parse import unquote

MAX_SEGMENTS = 64
MAX_LENGTH = 2048


class BadPath(ValueError):
    """The request path names nothing inside the dataset (answered 400)."""


def key_for(raw_path: str) -> str:
    """The dataset key of ``raw_path`` ("" for the root "/"); BadPath when it would leave."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        raise BadPath("the request target is not a path under the dataset")
    if len(path) > MAX_LENGTH:
        raise BadPath(f"the path is longer than {MAX_LENGTH} characters")
    if path == "/":
        return ""
    segments = path[1:].split("/")
    if len(segments) > MAX_SEGMENTS:
        raise BadPath(f"the path has more than {MAX_SEGMENTS} segments")
    keys = []
    for raw in segments:
        try:
            segment = unquote(raw, errors="strict") if "%" in raw else raw
        except UnicodeDecodeError:
            raise BadPath("a path segment is not UTF-8 once decoded") from None
        if segment in ("", ".", "..") or unquote(segment) in (".", ".."):
            raise BadPath("the path leaves the dataset or is not a key (empty, '.' or '..' "
                          "segment)")
        if any(c in segment for c in "/\\\0"):
            raise BadPath("a path segment holds a slash, backslash or NUL once decoded")
        keys.append(segment)
    return "/".join(keys)
