"""The table backends the kit reads, by name and alias (ngio's ``_table_backends.py`` model).

Each backend is declared once, here: its canonical name, the other names table groups use for
it (ngio's versioned and experimental spellings) and the module holding its ``read``
coroutine. The module is imported the first time a table of that backend is read, so
``import kit`` pulls in neither pandas nor pyarrow and no import has to "install" anything.
Third-party backends are added with ``TABLE_BACKENDS.add(TableBackend(...))``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kit.errors import KitError

#: ``await reader(table)`` -> a pandas DataFrame (typed loosely: this module sits below
#: ``kit.nodes.table`` and never imports pandas).
TableReader = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class TableBackend:
    """One way of storing a table: ``reader`` is ``"module:function"`` or the coroutine itself."""

    name: str
    aliases: tuple[str, ...] = ()
    reader: str | TableReader = field(default="", compare=False)

    def load(self) -> TableReader:
        """The reader coroutine function (importing its module on first use)."""
        if not isinstance(self.reader, str):
            return self.reader
        module, _, attr = self.reader.partition(":")
        return getattr(importlib.import_module(module), attr or "read")


class TableBackends:
    """Backends by canonical name and alias; unknown names are a ``KitError`` listing the known."""

    def __init__(self, backends: Iterable[TableBackend] = ()):
        self._by_name: dict[str, TableBackend] = {}
        for backend in backends:
            self.add(backend)

    def add(self, backend: TableBackend, *, overwrite: bool = False) -> None:
        for name in (backend.name, *backend.aliases):
            if name in self._by_name and not overwrite:
                raise ValueError(f"table backend name {name!r} is already taken by "
                                 f"{self._by_name[name].name!r}")
            self._by_name[name] = backend

    @property
    def names(self) -> list[str]:
        """Canonical names of every backend, sorted."""
        return sorted({b.name for b in self._by_name.values()})

    def canonical(self, name: str) -> str:
        """The canonical name for ``name`` (itself when it is unknown)."""
        backend = self._by_name.get(name)
        return backend.name if backend else name

    def reader(self, name: str, *, where: str | None = None) -> TableReader:
        backend = self._by_name.get(name)
        if backend is None:
            known = ", ".join(self.names) or "none registered"
            raise KitError(f"table backend {name!r} is not supported (known: {known})",
                           where=where)
        return backend.load()

    def __contains__(self, name: Any) -> bool:
        return name in self._by_name


TABLE_BACKENDS = TableBackends([
    TableBackend("anndata", ("anndata_v1", "experimental_anndata_v1"), "kit.tables.anndata:read"),
    TableBackend("parquet", ("experimental_parquet_v1",), "kit.tables.parquet:read"),
    TableBackend("csv", ("experimental_csv_v1",), "kit.tables.csv:read"),
    TableBackend("json", ("experimental_json_v1",), "kit.tables.json:read"),
])
