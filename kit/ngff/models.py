"""Frozen metadata models: what the spec documents mean once validated.

Plain dataclasses, no I/O and no behaviour beyond small derived properties, so every layer
(nodes, render, widgets) can hold, compare and pickle them (dask workers receive nodes).
Dict-valued fields are excluded from hashing: they are free-form pieces of the documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .transforms import Transform

#: Node kinds that `NodeMeta.kind` can take (one `NodeMeta` subclass each).
KINDS = ("plate", "well", "image", "label", "labels", "bioformats2raw", "series", "scene",
         "group")

#: Where a label image finds its source image when `image-label.source.image` is absent.
DEFAULT_LABEL_SOURCE = "../../"


@dataclass(frozen=True)
class Axis:
    """One axis of a multiscale image; `type`/`unit` are optional in the spec (SHOULD)."""

    name: str
    type: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class CoordinateSystem:
    """A named coordinate system (0.6, RFC-5) with its axes."""

    name: str
    axes: tuple[Axis, ...]


@dataclass(frozen=True)
class Dataset:
    """One pyramid level with its *effective* transform (multiscale-level transform applied).

    physical = scale * index + translation, per axis. From 0.6 on, `transform` is the level's
    own transform as written (array -> `Multiscale.axes`' coordinate system).
    """

    path: str
    scale: tuple[float, ...]
    translation: tuple[float, ...]
    transform: Transform | None = None


@dataclass(frozen=True)
class Multiscale:
    """One `multiscales` entry; levels are ordered highest resolution first."""

    name: str | None
    axes: tuple[Axis, ...]
    datasets: tuple[Dataset, ...]
    type: str | None = None
    metadata: dict[str, Any] | None = field(default=None, hash=False)
    #: NGFF version of the document it came from ("0.4"/"0.5"); lets array checks know
    #: whether zarr v3 `dimension_names` are mandatory.
    version: str | None = None
    #: True for 0.1-0.3, which have no coordinateTransformations: each dataset's scale is 1
    #: here and the node derives it from the level shapes (`legacy.implied_scale`).
    scale_from_shapes: bool = False
    #: 0.6: every coordinate system, the first being the one the levels map into (`axes`)
    coordinate_systems: tuple[CoordinateSystem, ...] = ()
    #: 0.6: multiscale-level transforms between coordinate systems
    transforms: tuple[Transform, ...] = ()

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)


@dataclass(frozen=True)
class Window:
    """Display window of a channel; `min`/`max` may be missing in real 0.4 data."""

    start: float
    end: float
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Channel:
    """One `omero` channel; color is 6 upper-case hex digits without '#', or None if unusable."""

    label: str | None
    color: str | None
    window: Window | None
    active: bool = True


@dataclass(frozen=True)
class Omero:
    """Transitional `omero` rendering metadata (lenient: it is a display hint, not data)."""

    channels: tuple[Channel, ...]
    rdefs: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class ImageLabel:
    """`image-label` block: colours and properties keyed by label value."""

    colors: dict[int, tuple[int, int, int, int]] = field(default_factory=dict, hash=False)
    properties: dict[int, dict[str, Any]] = field(default_factory=dict, hash=False)
    #: `source.image` as written, None when absent (the spec default is DEFAULT_LABEL_SOURCE).
    source_image: str | None = None

    @property
    def source_or_default(self) -> str:
        return self.source_image if self.source_image is not None else DEFAULT_LABEL_SOURCE


@dataclass(frozen=True)
class WellRef:
    """A well as listed by a plate; `path` is `<row>/<column>` and locates the well group."""

    path: str
    row_index: int
    column_index: int

    @property
    def row(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def column(self) -> str:
        return self.path.split("/", 1)[-1]


@dataclass(frozen=True)
class Acquisition:
    id: int
    name: str | None = None
    maximum_field_count: int | None = None


@dataclass(frozen=True)
class Plate:
    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[WellRef, ...]
    acquisitions: tuple[Acquisition, ...] = ()
    field_count: int | None = None


@dataclass(frozen=True)
class WellImage:
    path: str
    acquisition: int | None = None


@dataclass(frozen=True)
class Well:
    images: tuple[WellImage, ...]


@dataclass(frozen=True)
class Scene:
    """A 0.6 `scene`: coordinate systems of its own and the transforms that place images
    (members named by `input_path`/`output_path`) in them."""

    coordinate_systems: tuple[CoordinateSystem, ...]
    transforms: tuple[Transform, ...]

    @property
    def image_paths(self) -> tuple[str, ...]:
        """Every member group a transform names, in order of first mention."""
        paths = [p for t in self.transforms for p in (t.input_path, t.output_path) if p]
        return tuple(dict.fromkeys(paths))

    @property
    def target(self) -> tuple[str, str]:
        """(member path, "" for the scene's own; name) of the system the scene shows: its
        first own one, else the one most transforms reach."""
        if self.coordinate_systems:
            return "", self.coordinate_systems[0].name
        outs = [(t.output_path or "", t.output or "") for t in self.transforms]
        return max(dict.fromkeys(outs), key=outs.count)


@dataclass(frozen=True, kw_only=True)
class NodeMeta:
    """What the OME attributes of one zarr group say, validated; one subclass per kind.

    `kind` is fixed by the subclass, so a node holds exactly the fields its kind has (an
    image has no plate, a plate no multiscales). `warnings` lists the sloppiness that was read
    anyway (also emitted as KitWarning). `bioformats2raw_layout` may sit beside any block.
    """

    kind: ClassVar[str] = "group"

    version: str | None
    bioformats2raw_layout: int | None = None
    warnings: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class GroupMeta(NodeMeta):
    """A zarr group that is none of the NGFF kinds below (or has no NGFF version at all)."""

    kind: ClassVar[str] = "group"


@dataclass(frozen=True, kw_only=True)
class LabelsMeta(NodeMeta):
    """A `labels` group: the names of its label images."""

    kind: ClassVar[str] = "labels"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Bioformats2rawMeta(NodeMeta):
    """A bioformats2raw root: series in `OME/` (or numbered 0, 1, ...)."""

    kind: ClassVar[str] = "bioformats2raw"


@dataclass(frozen=True, kw_only=True)
class SeriesMeta(NodeMeta):
    """The `OME/` group of a bioformats2raw layout: its `series` list."""

    kind: ClassVar[str] = "series"
    series: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ImageMeta(NodeMeta):
    """A multiscale image: its multiscales (first one used) and optional omero block."""

    kind: ClassVar[str] = "image"
    multiscales: tuple[Multiscale, ...] = ()
    omero: Omero | None = None

    def get_multiscale(self, name: str | None = None) -> Multiscale:
        """The multiscale called `name`, else the first one (spec guidance)."""
        if not self.multiscales:
            raise LookupError(f"this {self.kind} group has no multiscales")
        if name is not None:
            for ms in self.multiscales:
                if ms.name == name:
                    return ms
            raise LookupError(f"no multiscale named {name!r}")
        return self.multiscales[0]


@dataclass(frozen=True, kw_only=True)
class LabelMeta(ImageMeta):
    """A label image: an image plus its `image-label` block.

    `multiscales` may be empty: the spec's own label examples are bare `image-label` blocks
    (read with a warning; the node says the label has no levels when asked for them).
    """

    kind: ClassVar[str] = "label"
    image_label: ImageLabel


@dataclass(frozen=True, kw_only=True)
class PlateMeta(NodeMeta):
    """An HCS plate: its `plate` block."""

    kind: ClassVar[str] = "plate"
    plate: Plate


@dataclass(frozen=True, kw_only=True)
class WellMeta(NodeMeta):
    """An HCS well: its `well` block."""

    kind: ClassVar[str] = "well"
    well: Well



@dataclass(frozen=True, kw_only=True)
class SceneMeta(NodeMeta):
    """A 0.6 scene group: its `scene` block."""

    kind: ClassVar[str] = "scene"
    scene: Scene
