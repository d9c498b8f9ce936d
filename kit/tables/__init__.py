"""Tables layer: each backend module registers its reader in ``kit.nodes.table.TABLE_READERS``.

AnnData on zarr, parquet, csv and json (ngio/Fractal formats) to pandas, without anndata.
"""

from kit.tables import anndata, csv, json, parquet  # noqa: F401 - imported to register

__all__: list[str] = []
