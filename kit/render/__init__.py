"""Pictures of nodes: level choice, compositing, label overlay, PNG, figures and notebook cards.

Every picture is drawn from one ``RenderSpec`` (``kit/render/spec.py``). Importing this package
installs the notebook card renderer into ``kit.nodes.base`` (nodes never import upward; the
render layer plugs itself in).
"""

from kit.nodes import base as _base
from kit.render.card import card_html
from kit.render.describe import describe, describe_text
from kit.render.figure import show
from kit.render.overview import plate_overview
from kit.render.png import Picture, data_uri, save_png, to_png
from kit.render.preview import preview
from kit.render.spec import InvalidRenderSpec, NotRenderable, RenderSpec

_base.html_renderer = card_html

__all__ = [
           "InvalidRenderSpec",
           "NotRenderable",
           "Picture",
           "RenderSpec",
           "card_html",
           "data_uri",
           "describe",
           "describe_text",
           "plate_overview",
           "preview",
           "save_png",
           "show",
           "to_png",
]
