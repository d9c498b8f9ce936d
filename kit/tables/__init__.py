"""Tables layer: AnnData on zarr, parquet, csv and json (ngio/Fractal formats) to pandas.

Read without anndata. Each backend module has one ``read(table)`` coroutine; the registry in
``kit.nodes.table_backends`` names them and imports a module the first time it is needed, so
nothing here has to be imported for tables to read.
"""

__all__: list[str] = []
