"""``kit.__version__``: the installed distribution's version (one source: pyproject.toml)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ngff-kit")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
