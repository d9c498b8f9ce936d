"""``kit.show``: a preview as a matplotlib Figure in physical units, scale bar and legend.

Built with ``matplotlib.figure.Figure`` directly, never pyplot: no global figure registry to
leak memory in long notebook sessions, safe from worker threads (matplotlib's own advice for
servers). Without pyplot, IPython has no formatter for a Figure until ``%matplotlib inline``
runs, so the figure carries its own ``_repr_png_``: it displays itself in a fresh kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kit.render.annotate import LegendEntry, legend_entries, nice_length, unit_symbol
from kit.render.overview import layout, plate_picture
from kit.render.plane import yx_axes
from kit.render.preview import render
from kit.render.spec import RenderSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from typing_extensions import Unpack

    from kit.render.overview import PlateFrame
    from kit.render.scene import SystemPicture
    from kit.render.spec import RenderOptions

__all__ = ["add_scale_bar", "displayable", "nice_length", "show", "unit_symbol"]

def _format_length(length: float, unit: str) -> str:
    return f"{length:g} {unit}"


def add_scale_bar(ax: Any, extent: tuple[float, float, float, float], unit: str, *,
                  length: float | None = None, label: str | None = None) -> float:
    """Draw a scale bar in the lower right corner; returns its length in data units
    (``length`` and ``label`` when the bar is known already: a plate's, in pixels)."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    x0, x1, _, _ = extent
    length = nice_length(x1 - x0) if length is None else length
    bar = AnchoredSizeBar(ax.transData, length, label or _format_length(length, unit),
                          "lower right", pad=0.4, color="white", frameon=False,
                          size_vertical=0, label_top=True)
    ax.add_artist(bar)
    return length


def _legend(ax: Any, entries: list[LegendEntry]) -> None:
    from matplotlib.patches import Patch

    if not entries:
        return
    handles = [Patch(facecolor=(e.colors[0][0] / 255, e.colors[0][1] / 255,
                                e.colors[0][2] / 255), edgecolor="none", label=e.name)
               for e in entries]
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


class FigureBundle:
    """A Figure's ``_repr_mimebundle_``: the PNG and a short text of what it is, so the
    notebook holds no ``<Figure size 700x600 with 1 Axes>`` beside the picture."""

    def __init__(self, figure: Figure):
        self.figure = figure

    def __call__(self, include: Any = None, exclude: Any = None) -> dict | None:
        if include is not None and "image/png" not in include:
            return None  # a terminal: matplotlib's own text
        titles = [ax.get_title() for ax in self.figure.axes if ax.get_title()]
        what = f" of {titles[0]!r}" if titles else ""
        return {"image/png": FigurePng(self.figure)(),
                "text/plain": f"<kit.show figure{what}>"}


def displayable(fig: Figure) -> Figure:
    """``fig`` with a ``_repr_png_`` of its own: a notebook shows it without pyplot's help."""
    fig._repr_png_ = FigurePng(fig)  # type: ignore[attr-defined]
    fig._repr_mimebundle_ = FigureBundle(fig)  # type: ignore[attr-defined]
    return fig


def show(node: Any, spec: RenderSpec | None = None, *,
         figsize: tuple[float, float] | None = None, dpi: int = 100, title: str | None = None,
         **options: Unpack[RenderOptions]) -> Figure:
    """The preview of ``node`` in a Figure: axes in physical units (e.g. µm) from the level's
    scale and translation, a scale bar, and a legend of the channels (and labels) with their
    colours. A scene, and an image drawn in another of its coordinate systems
    (``coordinate_system=``), has the axes of that system: its axis names and units, the
    extent of its grid there (translations included). A plate shows its mosaic with row and
    column names on the axes, gaps between wells and each field at its own aspect. The
    options are those of ``kit.preview`` (or one ``spec``); ``annotate`` is on by default
    here (the figure draws the bar, the legend and the names itself, crisp at any size);
    ``annotate=False`` leaves the bare picture on its axes. The figure displays itself in a
    notebook, no ``%matplotlib inline`` needed."""
    from matplotlib.figure import Figure

    from kit.nodes import Plate

    full = RenderSpec.from_kwargs(spec, **options)
    annotate = full.annotated(True)
    if isinstance(node, Plate) and annotate:
        return _plate_figure(node, full, figsize, dpi, title)
    rendered = render(node, full.with_(annotate=False))  # the figure draws its own
    rgb = np.asarray(rendered.rgb)
    h, w = rgb.shape[:2]
    fig = Figure(figsize=figsize or (max(3.0, 6.0 * w / max(h, w)) + 1.0,
                                     max(3.0, 6.0 * h / max(h, w))), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_title(title if title is not None else node.name)
    if isinstance(node, Plate):
        _plate_axes(ax, node, rgb)
        return displayable(fig)
    if rendered.system is not None:
        _system_axes(ax, rgb, rendered.system, annotate)
        fig.tight_layout()
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
    if annotate:
        add_scale_bar(ax, extent, ux)
        _legend(ax, legend_entries(job) if job is not None else [])  # a label: its title
    fig.tight_layout()
    return displayable(fig)


def _system_axes(ax: Any, rgb: np.ndarray, picture: SystemPicture, annotate: bool) -> None:
    """A picture drawn in a coordinate system (a scene's, or an image's rotated/affine one):
    the axes are that system's, named and in its units, the extent its grid's; the scale bar
    is in its x unit (none when the system gives no unit: a bar would claim a length)."""
    extent = picture.extent
    ax.imshow(rgb, extent=extent, interpolation="nearest")
    (ynam, uy), (xnam, ux) = ((a.name, a.unit) for a in picture.axes)
    ax.set_xlabel(f"{xnam} ({unit_symbol(ux)})" if ux else xnam)
    ax.set_ylabel(f"{ynam} ({unit_symbol(uy)})" if uy else ynam)
    if annotate:
        _footprints(ax, picture.footprints)
        if ux:
            add_scale_bar(ax, extent, unit_symbol(ux))
        _legend(ax, picture.legend)


#: a scene with more members than this gets their outlines but not their names (clutter)
NAMED_FOOTPRINTS = 12


def _footprints(ax: Any, footprints: list[tuple[str, np.ndarray]]) -> None:
    """Each scene member's outline (thin, dashed grey) and, for a few, its name: on a dark
    background the members' edges are otherwise invisible."""
    from matplotlib.patches import Polygon

    for name, corners in footprints:
        xy = np.asarray(corners)[:, ::-1]  # (y, x) -> matplotlib's (x, y)
        ax.add_patch(Polygon(xy, closed=True, fill=False, edgecolor=(0.75, 0.75, 0.75, 0.8),
                             linewidth=0.8, linestyle="--"))
        if len(footprints) <= NAMED_FOOTPRINTS:
            top = xy[np.argmin(xy[:, 1])]
            ax.annotate(name, top, xytext=(3, -3), textcoords="offset points", fontsize="x-small",
                        color="white", va="top", ha="left",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "black", "alpha": 0.5,
                              "lw": 0})


def _plate_figure(plate: Any, spec: RenderSpec, figsize: tuple[float, float] | None, dpi: int,
                  title: str | None) -> Figure:
    """A plate's annotated mosaic (gaps, tiles at the field's aspect) with the well names as
    ticks, the channel legend and the scale bar of one field drawn by matplotlib."""
    from matplotlib.figure import Figure

    mosaic, frame = plate_picture(plate, spec.with_(annotate=True), burn=False)
    rgb = np.asarray(mosaic)
    h, w = rgb.shape[:2]
    fig = Figure(figsize=figsize or (max(3.0, 8.0 * w / max(h, w)) + 1.0,
                                     max(2.5, 8.0 * h / max(h, w)) + 0.5), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_title(title if title is not None else plate.name)
    ax.imshow(rgb, interpolation="nearest")
    assert frame is not None
    _frame_ticks(ax, frame)
    done = frame.annotations
    if done is not None and done.scale_bar is not None:
        bar = done.scale_bar
        add_scale_bar(ax, (0, w, h, 0), bar.unit, length=bar.pixels, label=bar.label)
    if done is not None:
        _legend(ax, done.legend)
    fig.tight_layout()
    return displayable(fig)


def _frame_ticks(ax: Any, frame: PlateFrame) -> None:
    ax.set_xticks(frame.column_centers(), labels=frame.columns)
    ax.set_yticks(frame.row_centers(), labels=frame.rows)
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def _plate_axes(ax: Any, plate: Any, rgb: Any) -> None:
    rows, cols = plate.rows, plate.columns
    grid = layout(len(rows), len(cols), max(rgb.shape[:2]))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(cols))], labels=cols)
    ax.set_yticks([(i + 0.5) * grid.cell - 0.5 for i in range(len(rows))], labels=rows)
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
