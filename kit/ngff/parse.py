"""`parse_attributes`: one group's attributes in, one validated model of its kind out
(`ImageMeta`, `PlateMeta`, ...; no I/O).

Dispatch by keys: plate > well > scene > multiscales (+image-label = label) > labels >
bioformats2raw.layout > series > plain group. Every OME block that is present is validated,
not only the winning one, so broken metadata never hides behind a sibling key.
"""

from __future__ import annotations

import copy
from typing import Any

from ._context import Ctx
from .bf2raw import parse_layout, parse_series
from .hcs import parse_plate, parse_well
from .labels import parse_image_label, parse_labels_list
from .models import (
    Bioformats2rawMeta,
    GroupMeta,
    ImageMeta,
    LabelMeta,
    LabelsMeta,
    NodeMeta,
    PlateMeta,
    SceneMeta,
    SeriesMeta,
    WellMeta,
)
from .multiscales import parse_multiscales
from .omero import parse_omero
from .scene import parse_scene
from .version import NgffVersion, detect_version


def parse_attributes(attrs: dict, *, zarr_format: int | None, where: str,
                     strict: bool = False, exact_dialect: bool = False) -> NodeMeta:
    """Validate and model the OME attributes of one zarr group.

    attrs: the v2 `.zattrs` object or the v3 `zarr.json` `attributes` object.
    zarr_format: 2, 3 or None when unknown (only used to warn about version/format mismatch).
    where: URL or path named in every error and warning.
    strict: also refuse missing SHOULD-level fields (what the strict_* schemas require).
    exact_dialect: refuse forms of another dialect instead of normalising them (validating a
    single document; the reader, and hierarchies, stay lenient: the 0.6rc0 corpus' valid
    hierarchies use the 0.6.dev string form).
    Raises InvalidMetadata for MUST violations, UnsupportedVersion for versions not in
    SUPPORTED_VERSIONS (0.1 to 0.6). `.version` is an `NgffVersion` (a str with the dialect
    and what was normalised). Readable deviations are emitted as KitWarning and listed in
    `.warnings`.
    """
    ctx = Ctx(where, strict=strict, zarr_format=zarr_format, exact_dialect=exact_dialect)
    version, block = detect_version(attrs, ctx)
    if version is None:
        return GroupMeta(version=None, raw=copy.deepcopy(block))

    def present(key: str) -> bool:
        return block.get(key) is not None

    multiscales = parse_multiscales(block["multiscales"], ctx) if "multiscales" in block else ()
    omero = parse_omero(block["omero"], ctx) if present("omero") else None
    image_label = parse_image_label(block["image-label"], ctx) if present("image-label") else None
    labels = parse_labels_list(block["labels"], ctx) if "labels" in block else ()
    plate = parse_plate(block["plate"], ctx) if "plate" in block else None
    well = parse_well(block["well"], ctx) if "well" in block else None
    layout = (parse_layout(block["bioformats2raw.layout"], ctx)
              if "bioformats2raw.layout" in block else None)
    series = parse_series(block["series"], ctx) if "series" in block else ()
    scene = parse_scene(block["scene"], ctx) if "scene" in block else None

    cls: type[NodeMeta]
    own: dict[str, Any]
    if plate is not None:
        cls, own = PlateMeta, {"plate": plate}
    elif well is not None:
        cls, own = WellMeta, {"well": well}
    elif scene is not None:
        cls, own = SceneMeta, {"scene": scene}
    elif multiscales and image_label is not None:
        cls, own = LabelMeta, {"multiscales": multiscales, "omero": omero,
                               "image_label": image_label}
    elif multiscales:
        cls, own = ImageMeta, {"multiscales": multiscales, "omero": omero}
    elif image_label is not None:
        # The spec's label test cases are bare image-label blocks; a real label image MUST
        # also have multiscales, so the node layer will find no levels to read.
        ctx.warn("image-label", "present without multiscales (a label image MUST have them)")
        cls, own = LabelMeta, {"omero": omero, "image_label": image_label}
    elif "labels" in block:
        cls, own = LabelsMeta, {"labels": labels}
    elif layout is not None:
        cls, own = Bioformats2rawMeta, {}
    elif "series" in block:
        cls, own = SeriesMeta, {"series": series}
    else:
        cls, own = GroupMeta, {}
    return cls(version=NgffVersion(version, tuple(ctx.normalised)),
               bioformats2raw_layout=layout, warnings=tuple(ctx.warnings),
               raw=copy.deepcopy(block), **own)
