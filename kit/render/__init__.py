"""Pictures of nodes: level choice, compositing, label overlay, PNG, figures and notebook cards.

Importing this package installs the notebook card renderer into ``kit.nodes.base`` (nodes
never import upward; the render layer plugs itself in).
"""

from kit.nodes import base as _base
from kit.render.card import card_html
from kit.render.figure import show
from kit.render.overview import plate_overview
from kit.render.png import data_uri, save_png, to_png
from kit.render.preview import preview

_base.html_renderer = card_html

__all__ = ["preview", "show", "plate_overview", "to_png", "save_png", "data_uri", "card_html"]
