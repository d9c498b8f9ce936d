"""Deterministic, small, valid OME-Zarr for tests and the demo (public entry point).

    from kit.demo.generate import (write_image, write_plate, write_bf2raw, write_tables,
                                   write_scene, sample_dataset)

Everything is seeded: the same call writes the same bytes. Implementation lives in
``images`` (pixels, pyramids, labels), ``tables`` (Fractal/ngio tables) and ``hcs`` (plates).
"""

from kit.demo.hcs import field_seed, sample_dataset, write_bf2raw, write_plate
from kit.demo.images import synthesize, write_image
from kit.demo.scenes import write_scene
from kit.demo.tables import (
    IMAGE_TABLES,
    PLATE_TABLES,
    TABLE_NAMES,
    expected_tables,
    load_image,
    write_tables,
)

__all__ = [
    "IMAGE_TABLES", "PLATE_TABLES", "TABLE_NAMES", "expected_tables", "field_seed", "load_image",
    "sample_dataset", "synthesize", "write_bf2raw", "write_image", "write_plate", "write_scene",
    "write_tables",
]
