"""Lazy nodes of an OME-Zarr hierarchy: Plate, Well, Image, Label, Table, Group."""

from kit.nodes.base import Node, load_node
from kit.nodes.group import Group
from kit.nodes.hcs import Plate, Well
from kit.nodes.image import Image, Label, Level
from kit.nodes.table import TABLE_READERS, Table

__all__ = ["Node", "load_node", "Group", "Plate", "Well", "Image", "Label", "Level", "Table",
           "TABLE_READERS"]
