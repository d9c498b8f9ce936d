"""Pure OME-NGFF 0.1-0.6 metadata layer: attribute dicts in, frozen dataclasses out, no I/O."""

from .arrays import check_level_array, check_pyramid
from .models import (
    DEFAULT_LABEL_SOURCE,
    KINDS,
    Acquisition,
    Axis,
    Bioformats2rawMeta,
    Channel,
    Dataset,
    GroupMeta,
    ImageLabel,
    ImageMeta,
    LabelMeta,
    LabelsMeta,
    Multiscale,
    NodeMeta,
    Omero,
    Plate,
    PlateMeta,
    Scene,
    SceneMeta,
    SeriesMeta,
    Well,
    WellImage,
    WellMeta,
    WellRef,
    Window,
)
from .parse import parse_attributes
from .version import SUPPORTED_VERSIONS

__all__ = [
    "parse_attributes", "check_level_array", "check_pyramid", "NodeMeta", "GroupMeta",
    "ImageMeta", "LabelMeta", "PlateMeta", "WellMeta", "LabelsMeta", "Bioformats2rawMeta",
    "SeriesMeta", "Multiscale", "Axis", "Dataset",
    "Omero", "Channel", "Window", "ImageLabel", "Plate", "WellRef", "Acquisition", "Well",
    "WellImage", "Scene", "SceneMeta", "SUPPORTED_VERSIONS", "KINDS", "DEFAULT_LABEL_SOURCE",
]
