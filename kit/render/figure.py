"""``kit.show``: a preview as a matplotlib Figure in physical units, scale bar and legend.

Built with ``matplotlib.figure.Figure`` directly, never pyplot: no global figure registry to
leak memory in long notebook sessions, safe from worker threads (matplotlib's own advice for
servers). Jupyter displays a returned Figure through its PNG formatter.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kit.render.overlay import LabelStyle
from kit.render.plane import ChannelSpec, yx_axes
from kit.render.preview import LabelSpec, render

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kit.nodes import Image

UNIT_SYMBOLS = {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "meter": "m",
                "angstrom": "Å", "centimeter": "cm"}


def unit_symbol(unit: str | None) -> str:
    if not unit:
        return "px"
    return UNIT_SYMBOLS.get(unit, unit)


def nice_length(span: float, fraction: float = 0.2) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) near ``fraction`` of ``span``."""
    target = abs(span) * fraction
    if target <= 0 or not math.isfinite(target):
        return 1.0
    power = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * power <= target:
            return m * power
    return power


def _format_length(length: float, unit: str) -> str:
    return f"{length:g} {unit}"


def add_scale_bar(ax: Any, extent: tuple[float, float, float, float], unit: str) -> float:
    """Draw a scale bar in the lower right corner; returns its length in data units."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    x0, x1, _, _ = extent
    length = nice_length(x1 - x0)
    bar = AnchoredSizeBar(ax.transData, length, _format_length(length, unit), "lower right",
                          pad=0.4, color="white", frameon=False, size_vertical=0,
                          label_top=True)
    ax.add_artist(bar)
    return length


def _legend(ax: Any, image: Image, channels: list[int], colors: list[tuple[int, int, int]]) -> None:
    from matplotlib.patches import Patch

    names = image.channel_names if "c" in image.axes else [image.name]
    handles = [Patch(facecolor=tuple(v / 255 for v in rgb), edgecolor="none", label=names[i])
               for i, rgb in zip(channels, colors)]
    ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.6)


def show(node: Any, *, max_size: int = 512, channels: ChannelSpec = None, z: int | None = None,
         t: int | None = None, labels: LabelSpec = None, level: int | None = None,
         label_style: LabelStyle = "outline", opacity: float = 0.5,
         figsize: tuple[float, float] | None = None, dpi: int = 100,
         title: str | None = None) -> Figure:
    """The preview of ``node`` in a Figure: axes in physical units (e.g. µm) from the level's
    scale and translation, a scale bar, and a legend of the channels with their colours.
    A plate shows its mosaic with row and column names on the axes."""
    from matplotlib.figure import Figure

    from kit.nodes import Plate

    rendered = render(node, max_size=max_size, channels=channels, z=z, t=t, labels=labels,
                      level=level, label_style=label_style, opacity=opacity)
    rgb = rendered.rgb
    h, w = rgb.shape[:2]
    fig = Figure(figsize=figsize or (max(3.0, 6.0 * w / max(h, w)) + 1.0,
                                     max(3.0, 6.0 * h / max(h, w))), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_title(title if title is not None else node.name)
    if isinstance(node, Plate):
        _plate_axes(ax, node, rgb)
        return fig
    plane, job = rendered.plane, rendered.job
    source = job.image if job is not None else (node if hasattr(node, "units") else None)
    extent = plane.extent if plane is not None else (0, w, h, 0)
    ax.imshow(rgb, extent=extent, interpolation="nearest")
    units = source.units if source is not None else {}
    iy, ix = yx_axes(source.axes) if source is not None else (0, 1)
    ynam, xnam = (source.axes[iy], source.axes[ix]) if source is not None else ("y", "x")
    uy, ux = unit_symbol(units.get(ynam)), unit_symbol(units.get(xnam))
    ax.set_xlabel(f"{xnam} ({ux})")
    ax.set_ylabel(f"{ynam} ({uy})")
    add_scale_bar(ax, extent, ux)
    if job is not None:
        _legend(ax, job.image, job.plane.channels, job.colors)
    fig.tight_layout()
    return fig


def _plate_axes(ax: Any, plate: Any, rgb: Any) -> None:
    from kit.render.overview import layout

    rows, cols = plate.rows, plate.columns
    grid = layout(len(rows), len(cols), max(rgb.shape[:2]))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(cols))], labels=cols)
    ax.set_yticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(rows))], labels=rows)
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
