"""``{{ ... }}`` rendering for refs templates and ``gen`` entries, without jinja.

kerchunk's spec renders ``gen`` with jinja2, and fsspec silently drops ``gen`` unless jinja2 is
installed and asked for. Real files use little of jinja: a variable, or integer arithmetic on
one (``{{(i + 1) * 1000}}``), sometimes ``%``-formatting (``{{ "%03d" % i }}``). That subset is
evaluated here by a tiny AST walker (no ``eval``); anything else is a clear error, never dropped.
"""

from __future__ import annotations

import ast
import itertools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kit.errors import InvalidMetadata

__all__ = ["render", "substitute_templates", "expand_gen", "MAX_GEN_KEYS"]

#: A ``gen`` block may not expand to more keys than this (a typo in ``stop`` would eat memory).
MAX_GEN_KEYS = 10_000_000

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg,
                                                    ast.UAdd: operator.pos}


class _Unsupported(Exception):
    pass


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Unsupported(f"name {node.id!r} is not defined")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, names), _eval(node.right, names)
        if isinstance(node.op, ast.Pow) and isinstance(right, int) and abs(right) > 64:
            raise _Unsupported("exponent too large")
        if isinstance(left, str) and not isinstance(node.op, (ast.Mod, ast.Add)):
            raise _Unsupported("only + and % apply to strings")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, names))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        raise _Unsupported("jinja filters (|) are not supported")
    raise _Unsupported(f"unsupported expression ({type(node).__name__}); only variables, "
                       "numbers, strings and + - * / // % ** are understood")


def render(text: str, names: Mapping[str, Any], *, where: str) -> str:
    """``text`` with every ``{{ expr }}`` replaced by its value; InvalidMetadata if it cannot be."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        try:
            value = _eval(ast.parse(expr, mode="eval"), names)
        except SyntaxError:
            raise InvalidMetadata(f"cannot read template expression {{{{{expr}}}}} "
                                  "(jinja filters and statements are not supported)",
                                  where=where) from None
        except _Unsupported as exc:
            raise InvalidMetadata(f"template expression {{{{{expr}}}}}: {exc}",
                                  where=where) from None
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise InvalidMetadata(f"template expression {{{{{expr}}}}} failed: {exc}",
                                  where=where) from None
        return str(value)

    return _EXPR.sub(one, text)


def substitute_templates(url: str, templates: Mapping[str, str], *, where: str) -> str:
    """Plain ``{{name}}`` replacement, as LINDI and fsspec's simple templates do it.

    Braces that are not a ``{{name}}`` stay as they are (fsspec's ``str.format`` trick raises on
    them); a ``{{name}}`` with no template of that name is an error naming it.
    """
    if "{{" not in url:
        return url

    def one(match: re.Match[str]) -> str:
        name = _NAME.match(match.group(1))
        if name is None:
            return match.group(0)
        if name.group(1) not in templates:
            known = ", ".join(sorted(templates)) or "none"
            raise InvalidMetadata(f"template {{{{{name.group(1)}}}}} is not defined "
                                  f"(templates: {known})", where=where)
        return templates[name.group(1)]

    return _EXPR.sub(one, url)


def _dimension_values(name: str, spec: Any, where: str) -> range | list[Any]:
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict) and "stop" in spec:
        try:
            return range(int(spec.get("start", 0)), int(spec["stop"]), int(spec.get("step", 1)))
        except (TypeError, ValueError) as exc:
            raise InvalidMetadata(f"gen dimension {name!r}: {exc}", where=where) from None
    raise InvalidMetadata(f"gen dimension {name!r} must be a list or "
                          "{'start', 'stop', 'step'}", where=where)


def _int(text: str, what: str, where: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InvalidMetadata(f"gen {what} renders to {text!r}, not an integer",
                              where=where) from None
    if value < 0:
        raise InvalidMetadata(f"gen {what} is negative ({value})", where=where)
    return value


def expand_gen(gen: Any, templates: Mapping[str, str], *, where: str) -> Iterator[tuple[str, list]]:
    """(key, ref) pairs of a kerchunk ``gen`` list: the cartesian product of its dimensions."""
    if not isinstance(gen, list):
        raise InvalidMetadata("'gen' must be a list", where=where)
    total = 0
    for i, entry in enumerate(gen):
        here = f"{where} (gen[{i}])"
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) \
                or not isinstance(entry.get("url"), str):
            raise InvalidMetadata("each gen entry needs string 'key' and 'url'", where=here)
        if ("offset" in entry) != ("length" in entry):
            raise InvalidMetadata("gen 'offset' and 'length' must come together", where=here)
        dims = entry.get("dimensions", {})
        if not isinstance(dims, dict):
            raise InvalidMetadata("gen 'dimensions' must be an object", where=here)
        axes = {name: _dimension_values(name, spec, here) for name, spec in dims.items()}
        count = 1
        for values in axes.values():
            count *= len(values)
        total += count
        if total > MAX_GEN_KEYS:
            raise InvalidMetadata(f"gen expands to more than {MAX_GEN_KEYS} keys", where=here)
        for combo in itertools.product(*axes.values()):
            names = {**templates, **dict(zip(axes, combo))}
            key = render(entry["key"], names, where=here)
            url = render(entry["url"], names, where=here)
            if "offset" in entry:
                offset = _int(render(str(entry["offset"]), names, where=here), "offset", here)
                length = _int(render(str(entry["length"]), names, where=here), "length", here)
                yield key, [url, offset, length]
            else:
                yield key, [url]
