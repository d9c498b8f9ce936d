"""``kit.show``: a preview as a matplotlib Figure in physical units, scale bar and legend.

Built with ``matplotlib.figure.Figure`` directly, never pyplot: no global figure registry to
leak memory in long notebook sessions, safe from worker threads (matplotlib's own advice for
servers). Without pyplot, IPython has no formatter for a Figure until ``%matplotlib inline``
runs, so the figure carries its own ``_repr_png_``: it displays itself in a fresh kernel.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.render.overview import layout
from kit.render.plane import yx_axes
from kit.render.preview import render
from kit.render.spec import RenderSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from typing_extensions import Unpack

    from kit.nodes import Image
    from kit.render.spec import RenderOptions

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
    handles = [Patch(facecolor=(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255), edgecolor="none",
                     label=names[i])
               for i, rgb in zip(channels, colors)]
    ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.6)


class FigurePng:
    """A Figure's ``_repr_png_``: the figure drawn as PNG bytes, at the figure's own dpi.

    A small class rather than a closure so a figure that carries it still pickles.
    """

    def __init__(self, figure: Figure):
        self.figure = figure

    def __call__(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def displayable(fig: Figure) -> Figure:
    """``fig`` with a ``_repr_png_`` of its own: a notebook shows it without pyplot's help."""
    fig._repr_png_ = FigurePng(fig)  # type: ignore[attr-defined]
    return fig


def show(node: Any, spec: RenderSpec | None = None, *,
         figsize: tuple[float, float] | None = None, dpi: int = 100, title: str | None = None,
         **options: Unpack[RenderOptions]) -> Figure:
    """The preview of ``node`` in a Figure: axes in physical units (e.g. µm) from the level's
    scale and translation, a scale bar, and a legend of the channels with their colours.
    A plate shows its mosaic with row and column names on the axes. The options are those of
    ``kit.preview`` (or one ``spec``). The figure displays itself in a notebook."""
    from matplotlib.figure import Figure

    from kit.nodes import Plate

    rendered = render(node, RenderSpec.from_kwargs(spec, **options))
    rgb = np.asarray(rendered.rgb)
    h, w = rgb.shape[:2]
    fig = Figure(figsize=figsize or (max(3.0, 6.0 * w / max(h, w)) + 1.0,
                                     max(3.0, 6.0 * h / max(h, w))), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_title(title if title is not None else node.name)
    if isinstance(node, Plate):
        _plate_axes(ax, node, rgb)
        return displayable(fig)
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
    return displayable(fig)


def _plate_axes(ax: Any, plate: Any, rgb: Any) -> None:
    rows, cols = plate.rows, plate.columns
    grid = layout(len(rows), len(cols), max(rgb.shape[:2]))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(cols))], labels=cols)
    ax.set_yticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(rows))], labels=rows)
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
