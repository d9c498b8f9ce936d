"""``kit.open``: one call from any source to the node its metadata describes.

The implementation is ``kit.nodes.opening.open`` (in the node layer, so the widgets share it).
"""

from __future__ import annotations

from kit.nodes import Node
from kit.nodes.opening import open

__all__ = ["open", "Node"]
