"""Lazy nodes of an OME-Zarr hierarchy: Plate, Well, Image, Label, Scene, Table, Group.

Importing the package imports every node module, and each registers its node class by kind
(``kit.nodes.base.register``), so ``load_node`` knows them all.
"""

from kit.nodes.base import Node, NodeMap, load_node
from kit.nodes.group import Group
from kit.nodes.hcs import Plate, Well
from kit.nodes.image import Image, Label, Level
from kit.nodes.scene import Scene
from kit.nodes.table import Table, Tables
from kit.nodes.table_backends import TABLE_BACKENDS, TableBackend

__all__ = [
           "TABLE_BACKENDS",
           "Group",
           "Image",
           "Label",
           "Level",
           "Node",
           "NodeMap",
           "Plate",
           "Scene",
           "Table",
           "TableBackend",
           "Tables",
           "Well",
           "load_node",
]
