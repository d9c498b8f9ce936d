"""Frozen metadata models: what the spec documents mean once validated.

Plain dataclasses, no I/O and no behaviour beyond small derived properties, so every layer
(nodes, render, widgets) can hold, compare and pickle them (dask workers receive nodes).
Dict-valued fields are excluded from hashing: they are free-form pieces of the documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Node kinds that `NodeMeta.kind` can take.
KINDS = ("plate", "well", "image", "label", "labels", "bioformats2raw", "series", "group")

#: Where a label image finds its source image when `image-label.source.image` is absent.
DEFAULT_LABEL_SOURCE = "../../"


@dataclass(frozen=True)
class Axis:
    """One axis of a multiscale image; `type`/`unit` are optional in the spec (SHOULD)."""

    name: str
    type: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One pyramid level with its *effective* transform (multiscale-level transform applied).

    physical = scale * index + translation, per axis.
    """

    path: str
    scale: tuple[float, ...]
    translation: tuple[float, ...]


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
class NodeMeta:
    """Everything the OME attributes of one zarr group say, validated.

    `kind` says what the group is; the fields that do not apply to that kind are empty/None.
    `warnings` lists the sloppiness that was read anyway (also emitted as KitWarning).
    """

    version: str | None
    kind: str
    multiscales: tuple[Multiscale, ...] = ()
    omero: Omero | None = None
    image_label: ImageLabel | None = None
    labels: tuple[str, ...] = ()
    plate: Plate | None = None
    well: Well | None = None
    bioformats2raw_layout: int | None = None
    series: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

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
