"""Is a figure legible where the book shows it? The book shows a figure as wide as the content
column (about 7.5 in) when it is wider, and at its own size otherwise; every text should then
be at least 8 pt, and no title or label should run into another image."""
from __future__ import annotations

COLUMN_IN = 7.5   # the book's content column, inches (at 100 dpi)
PAD_IN = 0.1      # the notebook's inline backend pads the tight bounding box by this much on each side
WIDTH_IN = COLUMN_IN - 2 * PAD_IN   # the widest figure the helpers draw, so that it is shown unscaled
MIN_PT = 8.0      # the smallest legible text on the page
FONT = 8          # the size the plot helpers use for titles, labels and ticks


def shown_width(fig) -> float:
    """The width (inches) of ``fig`` as a notebook shows it: its tight bounding box (after
    layout) plus the inline backend's padding on each side."""
    fig.draw_without_rendering()
    return fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * PAD_IN


def _drawn_texts(fig) -> list:
    """(size in points, text) of every non-empty text drawn on ``fig``."""
    renderer = fig.canvas.get_renderer()
    found = []
    draw_text = renderer.draw_text

    def spy(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if str(s).strip():
            found.append((prop.get_size_in_points(), s))
        return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = spy
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text
    return found


def smallest_text_pt(fig, column_in: float = COLUMN_IN) -> float:
    """The smallest text size (points) of ``fig`` as the page shows it: a figure wider than
    ``column_in`` is scaled down to it. ``inf`` for a figure without text."""
    sizes = [s for s, _ in _drawn_texts(fig)]
    scale = min(1.0, column_in / shown_width(fig))
    return min(sizes, default=float("inf")) * scale


def overlaps(fig) -> list[str]:
    """Titles, axis labels and tick labels of one axes that run into another axes' area (the
    check behind every chapter's figures, like :func:`smallest_text_pt`)."""
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    axes = [a for a in fig.axes if a.get_visible()]
    found = []
    for ax in axes:
        texts = [ax.title]
        if ax.axison:   # an axes switched off draws no labels
            texts += [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]
        for t in texts:
            if not (t.get_visible() and t.get_text().strip()):
                continue
            box = t.get_window_extent(renderer)
            for other in axes:
                if other is not ax and box.overlaps(other.get_window_extent(renderer)):
                    found.append(f"{t.get_text()!r} runs into another axes")
    return found
