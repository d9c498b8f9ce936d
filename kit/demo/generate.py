"""Deterministic, small, valid OME-Zarr for tests and the demo (public entry point).

    from kit.demo.generate import write_image, write_plate, write_bf2raw, write_tables, sample_dataset
"""

from kit.demo.images import synthesize, write_image

__all__ = ["synthesize", "write_image"]
