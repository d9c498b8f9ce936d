"""RFC-5 (NGFF 0.6) coordinate transformations: parsed into `Transform`, applied by `Mapping`.

Every dialect is read into one shape: `input`/`output` as coordinate-system names (the 0.6.dev
string form and the rc0 `{"name", "path"}` form), `byDimension` axes in either spelling
(`input_axes` dev, `inputAxes` rc0). Parameters stored in a zarr array (`path`) are kept as the
path and read by the node through the store when a mapping needs them. `displacements` and
`coordinates` are parsed and exposed but not applied (no rendering of non-linear fields).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kit.errors import KitError

from ._context import Ctx, is_int, is_number, optional_str, require_dict, require_list

TYPES = ("identity", "scale", "translation", "affine", "rotation", "mapAxis", "projectAxis",
         "sequence", "byDimension", "bijection", "displacements", "coordinates", "inverseOf")
#: Types whose parameters may sit in a zarr array (`path`), per dialect: 0.6.dev2 also
#: allowed it for scale/translation (dev3 removed it).
PATH_PARAMS = {"affine", "rotation", "displacements", "coordinates"}
DEV2_PATH_PARAMS = PATH_PARAMS | {"scale", "translation"}
NONLINEAR = ("displacements", "coordinates")
STRING_IO_DIALECTS = ("0.6.dev1", "0.6.dev2", "0.6.dev3")


class NotAffine(KitError, ValueError):
    """A mapping that has no affine matrix (non-linear field), or cannot be applied here."""


@dataclass(frozen=True)
class Transform:
    """One coordinate transformation; `field` is where it sits in the document."""

    type: str
    input: str | None = None
    output: str | None = None
    name: str | None = None
    #: the group holding the input/output coordinate system (rc0 `{"path"}`; scenes)
    input_path: str | None = None
    output_path: str | None = None
    #: scale/translation vector, mapAxis/projectAxis indices; matrices in `matrix`
    vector: tuple[float, ...] = ()
    matrix: tuple[tuple[float, ...], ...] = ()
    #: parameters (affine, rotation) or field (displacements, coordinates) in a zarr array
    path: str | None = None
    #: sequence members, bijection (forward, inverse), byDimension members
    children: tuple[Transform, ...] = ()
    #: byDimension: (input axes, output axes) of each child
    #: (indices, or axis names in the early dev form)
    axes: tuple[tuple[tuple[int | str, ...], tuple[int | str, ...]], ...] = ()
    field: str = field(default="", compare=False)

    @property
    def is_nonlinear(self) -> bool:
        return self.type in NONLINEAR or any(c.is_nonlinear for c in self.children)

    def paths(self) -> list[tuple[str, Transform]]:
        """(path, transform) of every parameter array this transform needs."""
        own = [(self.path, self)] if self.path is not None and self.type not in NONLINEAR else []
        return own + [p for c in self.children for p in c.paths()]


def parse_transform(value: Any, ctx: Ctx, field: str) -> Transform:
    tr = require_dict(ctx, value, field)
    kind = tr.get("type")
    if kind not in TYPES:
        ctx.error(f"{field}.type", f"unknown transformation type {kind!r} (known: "
                                   f"{', '.join(TYPES)})")
    if kind == "inverseOf" and ctx.version not in ("0.6.dev1", "0.6.dev2"):
        ctx.error(f"{field}.type", "'inverseOf' was removed in 0.6.dev3")
    name = optional_str(ctx, tr, "name", field)
    (inp, inp_path), (out, out_path) = _io(tr, "input", ctx, field), _io(tr, "output", ctx, field)
    common = {"type": kind, "input": inp, "output": out, "name": name, "field": field,
              "input_path": inp_path, "output_path": out_path}
    if "path" in tr:
        allowed = DEV2_PATH_PARAMS if ctx.version in ("0.6.dev1", "0.6.dev2") else PATH_PARAMS
        if kind not in allowed:
            ctx.error(f"{field}.path", f"{kind} parameters cannot be stored in an array in "
                                       f"{ctx.version} (only {', '.join(sorted(allowed))})")
        if not isinstance(tr["path"], str) or not tr["path"]:
            ctx.error(f"{field}.path", f"must be a non-empty string, got {tr['path']!r}")
        if kind in ("scale", "translation", "affine", "rotation") and kind in tr:
            ctx.error(field, f"has both {kind!r} and 'path' (one of them)")
        return Transform(**common, path=tr["path"])
    if kind in NONLINEAR:
        ctx.error(f"{field}.path", "missing (a displacement/coordinate field is an array)")
    if kind in ("scale", "translation"):
        return Transform(**common, vector=_vector(tr, kind, ctx, field, positive=kind == "scale"))
    if kind in ("affine", "rotation"):
        return Transform(**common, matrix=_matrix(tr, kind, ctx, field))
    if kind == "mapAxis":
        return Transform(**common, vector=_indices(tr, "mapAxis", ctx, field))
    if kind == "projectAxis":
        if "droppedInputs" not in tr and "createdOutputs" not in tr:
            ctx.error(field, "a projectAxis needs droppedInputs or createdOutputs (MUST)")
        dropped, created = (tuple(int(i) for i in _indices(tr, key, ctx, field))
                            if key in tr else () for key in ("droppedInputs", "createdOutputs"))
        return Transform(**common, axes=((dropped, created),))
    if kind in ("sequence", "byDimension"):
        items = require_list(ctx, tr.get("transformations"), f"{field}.transformations")
        if kind == "sequence":
            kids = tuple(parse_transform(t, ctx, f"{field}.transformations[{i}]")
                         for i, t in enumerate(items))
            return Transform(**common, children=kids)
        members, axes = [], []
        for i, item in enumerate(items):
            ifield = f"{field}.transformations[{i}]"
            m = require_dict(ctx, item, ifield)
            if "transformation" not in m and "type" in m:  # early dev form: the member itself
                ctx.normalise(ifield, "a byDimension member written as the transformation "
                                      "itself (early 0.6.dev form)")
                members.append(parse_transform(m, ctx, ifield))
            else:
                members.append(parse_transform(m.get("transformation"), ctx,
                                               f"{ifield}.transformation"))
            axes.append((_axes_key(m, "input", ctx, ifield), _axes_key(m, "output", ctx, ifield)))
        return Transform(**common, children=tuple(members), axes=tuple(axes))
    if kind == "bijection":
        fwd = parse_transform(tr.get("forward"), ctx, f"{field}.forward")
        inv = parse_transform(tr.get("inverse"), ctx, f"{field}.inverse")
        return Transform(**common, children=(fwd, inv))
    if kind == "inverseOf":
        return Transform(**common, children=(parse_transform(tr.get("transformation"), ctx,
                                                             f"{field}.transformation"),))
    return Transform(**common)  # identity


def _io(tr: dict, key: str, ctx: Ctx, field: str) -> tuple[str | None, str | None]:
    """`input`/`output` as (name, path): a string (0.6.dev2/dev3) or {"name", "path"} (dev4
    on); both read. A level's input gives only a path (its array): that is the name too."""
    value = tr.get(key)
    if value is None:
        return None, None
    if isinstance(value, str):
        if ctx.version not in STRING_IO_DIALECTS:
            ctx.normalise(f"{field}.{key}", f"written as a string (0.6.dev form) in "
                                            f"{ctx.version}; read as {{'name': {value!r}}}")
        return value, None
    if isinstance(value, dict):
        name, path = value.get("name"), value.get("path")
        if name is not None and not isinstance(name, str):
            ctx.error(f"{field}.{key}.name", f"must be a string, got {name!r}")
        if path is not None and not isinstance(path, str):
            ctx.error(f"{field}.{key}.path", f"must be a string, got {path!r}")
        if name is None and path is None:
            ctx.error(f"{field}.{key}", "needs a 'name' (or a 'path')")
        return (name, path) if name is not None else (path, None)
    ctx.error(f"{field}.{key}", f"must be an object {{name, path}} or a string, got {value!r}")


def _vector(tr: dict, key: str, ctx: Ctx, field: str, *, positive: bool) -> tuple[float, ...]:
    values = tr.get(key)
    if not isinstance(values, list) or not values or not all(is_number(v) for v in values):
        ctx.error(f"{field}.{key}", f"must be a non-empty list of numbers, got {values!r}")
    if positive and any(v <= 0 for v in values):
        ctx.error(f"{field}.{key}", f"scale factors must be > 0, got {values!r}")
    return tuple(float(v) for v in values)


def _matrix(tr: dict, key: str, ctx: Ctx, field: str) -> tuple[tuple[float, ...], ...]:
    rows = tr.get(key)
    if (not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows)
            or not all(is_number(v) for r in rows for v in r)):
        ctx.error(f"{field}.{key}", f"must be a matrix (a list of lists of numbers), got {rows!r}")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        ctx.error(f"{field}.{key}", f"rows have different lengths {sorted(widths)}")
    n = widths.pop()
    if key == "rotation" and n != len(rows):
        ctx.error(f"{field}.{key}", f"must be square, is {len(rows)}x{n}")
    if key == "affine" and n < 2:
        ctx.error(f"{field}.{key}", f"must have one column per input axis plus one, has {n}")
    return tuple(tuple(float(v) for v in r) for r in rows)


def _indices(tr: dict, key: str, ctx: Ctx, field: str) -> tuple[float, ...]:
    values = tr.get(key)
    if (not isinstance(values, list) or not values
            or not all(is_int(v) and v >= 0 for v in values)):
        ctx.error(f"{field}.{key}", f"must be a list of axis indices >= 0, got {values!r}")
    if len(set(values)) != len(values):
        ctx.error(f"{field}.{key}", f"indices must be unique, got {values!r}")
    return tuple(float(v) for v in values)


def _axes_key(m: dict, which: str, ctx: Ctx, field: str) -> tuple[int | str, ...]:
    camel, snake = f"{which}Axes", f"{which}_axes"
    if camel in m:
        key = camel
    elif snake in m:
        key = snake
        if ctx.version not in STRING_IO_DIALECTS:
            ctx.normalise(f"{field}.{snake}", f"snake_case (0.6.dev form) in {ctx.version}; "
                                              f"read as {camel}")
    else:
        ctx.error(f"{field}.{camel}", "missing (MUST)")
    values = m[key]
    if isinstance(values, list) and values and all(isinstance(v, str) and v for v in values):
        ctx.normalise(f"{field}.{key}", "axis names instead of indices (early 0.6.dev form)")
        return tuple(values)
    if not isinstance(values, list) or not values or not all(is_int(v) and v >= 0
                                                             for v in values):
        ctx.error(f"{field}.{key}", f"must be a list of axis indices >= 0, got {values!r}")
    return tuple(values)


# -- applying transforms --------------------------------------------------------------------

#: reads a parameter array by its path (relative to the group holding the transform)
Loader = Callable[[str], np.ndarray]


def affine_of(t: Transform, n_in: int, load: Loader | None = None) -> np.ndarray:
    """The (n_out+1, n_in+1) homogeneous matrix of an affine-representable transform."""
    if t.is_nonlinear:
        raise NotAffine(f"{t.field}: a {t.type} transform is not affine (not rendered)")
    if t.type in ("identity", "bijection") and not t.children:
        return np.eye(n_in + 1)
    if t.type == "bijection":
        return affine_of(t.children[0], n_in, load)
    if t.type == "inverseOf":
        return np.linalg.inv(affine_of(t.children[0], n_in, load))
    if t.type in ("scale", "translation"):
        v = np.asarray(t.vector if t.path is None else _load(t, load).ravel(), float)
        if len(v) != n_in:
            raise NotAffine(f"{t.field}.{t.type}: has {len(v)} values for {n_in} input axes")
        m = np.eye(n_in + 1)
        if t.type == "scale":
            m[:n_in, :n_in] = np.diag(v)
        else:
            m[:n_in, n_in] = v
        return m
    if t.type in ("affine", "rotation"):
        a = np.asarray(t.matrix, float) if t.path is None else _load(t, load)
        if t.type == "rotation":
            if a.shape != (n_in, n_in):
                raise NotAffine(f"{t.field}.rotation: is {a.shape}, needs {n_in}x{n_in}")
            m = np.eye(n_in + 1)
            m[:n_in, :n_in] = a
            return m
        if a.ndim != 2 or a.shape[1] != n_in + 1:
            raise NotAffine(f"{t.field}.affine: is {a.shape}, needs {n_in + 1} columns "
                            f"({n_in} input axes + 1)")
        if a.shape[0] == a.shape[1] and np.allclose(a[-1], np.eye(n_in + 1)[-1]):
            return a  # written with the homogeneous last row
        return np.vstack([a, np.eye(n_in + 1)[-1:]])
    if t.type == "mapAxis":
        idx = [int(i) for i in t.vector]
        if max(idx) >= n_in:
            raise NotAffine(f"{t.field}.mapAxis: index {max(idx)} for {n_in} input axes")
        m = np.zeros((len(idx) + 1, n_in + 1))
        for out, i in enumerate(idx):
            m[out, i] = 1.0
        m[-1, -1] = 1.0
        return m
    if t.type == "projectAxis":
        dropped, created = ({int(i) for i in a} for a in t.axes[0])
        n_out = n_in - len(dropped) + len(created)
        problem = dimension_problem(t, n_in, n_out)
        if problem:
            raise NotAffine(f"{t.field}: {problem}")
        kept = [i for i in range(n_in) if i not in dropped]
        kept_out = [o for o in range(n_out) if o not in created]  # new coordinates are zero
        m = np.zeros((n_out + 1, n_in + 1))
        for i, o in zip(kept, kept_out):
            m[o, i] = 1.0
        m[-1, -1] = 1.0
        return m
    if t.type == "sequence":
        m = np.eye(n_in + 1)
        for c in t.children:
            m = affine_of(c, m.shape[0] - 1, load) @ m
        return m
    if t.type == "byDimension":
        if any(isinstance(a, str) for ins, outs in t.axes for a in ins + outs):
            raise NotAffine(f"{t.field}: byDimension axes given by name are not applied")
        n_out = max(int(max(o)) for _, o in t.axes) + 1
        m = np.zeros((n_out + 1, n_in + 1))
        m[-1, -1] = 1.0
        for c, (ins, outs) in zip(t.children, t.axes):
            sub = affine_of(c, len(ins), load)
            if sub.shape[0] - 1 != len(outs):
                raise NotAffine(f"{c.field}: gives {sub.shape[0] - 1} values for {len(outs)} "
                                "output axes")
            for r, axis_out in enumerate(outs):
                for k, axis_in in enumerate(ins):
                    m[int(axis_out), int(axis_in)] = sub[r, k]
                m[int(axis_out), -1] = sub[r, -1]
        return m
    raise NotAffine(f"{t.field}: {t.type} is not supported")


def dimension_problem(t: Transform, n_in: int, n_out: int) -> str | None:
    """Why `t` cannot map `n_in` input axes to `n_out` output axes (None when it can); only
    the index-based types (mapAxis, projectAxis) are checked, the others by `affine_of`."""
    if t.type == "mapAxis":
        idx = [int(i) for i in t.vector]
        if len(idx) != n_in or len(idx) != n_out:
            return (f"mapAxis has {len(idx)} indices; the input has {n_in} axes and the "
                    f"output {n_out} (MUST be equal)")
        if sorted(idx) != list(range(n_in)):
            return f"mapAxis {idx} is not a permutation of the {n_in} input axes"
    if t.type == "projectAxis":
        dropped, created = ([int(i) for i in a] for a in t.axes[0])
        if any(i >= n_in for i in dropped):
            return f"droppedInputs {dropped}: the input has {n_in} axes"
        if any(o >= n_out for o in created):
            return f"createdOutputs {created}: the output has {n_out} axes"
        if n_in - len(dropped) + len(created) != n_out:
            return (f"{n_in} input axes - {len(dropped)} dropped + {len(created)} created "
                    f"!= the output's {n_out} axes")
    return None


def _load(t: Transform, load: Loader | None) -> np.ndarray:
    if load is None or t.path is None:
        raise NotAffine(f"{t.field}.path: parameters stored in {t.path!r} need the store")
    return np.asarray(load(t.path), float)


@dataclass(frozen=True)
class Mapping:
    """From a level's array indices to a named coordinate system (a chain of transforms)."""

    source: str
    target: str
    transforms: tuple[Transform, ...]
    ndim: int
    #: parameter arrays already read, by path (so applying costs no request)
    parameters: dict[str, np.ndarray] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_affine(self) -> bool:
        return not any(t.is_nonlinear for t in self.transforms)

    @property
    def affine(self) -> np.ndarray:
        """The homogeneous matrix (rows: target axes + 1, columns: array axes + 1)."""
        m = np.eye(self.ndim + 1)
        for t in self.transforms:
            m = affine_of(t, m.shape[0] - 1, self.parameters.__getitem__) @ m
        return m

    def apply(self, points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """Index points (N, ndim) -> coordinates (N, target ndim) in the target system."""
        p = np.atleast_2d(np.asarray(points, float))
        if p.shape[1] != self.ndim:
            raise ValueError(f"points need {self.ndim} coordinates each, got {p.shape[1]}")
        m = self.affine
        return p @ m[:-1, :-1].T + m[:-1, -1]


