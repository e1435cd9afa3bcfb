"""The panels' rendering engine: blit what changed over a cached background, encode an RGB PNG.

A panel builds its matplotlib figure once (Agg canvas, not a GUI backend) and afterwards only
calls ``set_data``/``set_text`` on the artists it lists as *dynamic*; :class:`Renderer` turns
the figure into PNG bytes, redrawing only the dynamic artists whose content changed since the
last frame. Every frame is pixel-identical to a full redraw of the same figure
(``tests/test_map_comparison.py`` checks sweeps of every kind of change).
"""
from __future__ import annotations

import io
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any


def _signature(artist):
    """What an artist shows (``None``: unknown, always redraw): an image's pixels and colour
    scale, a text's string and style, a line's points and style, a graph's edges (segments, widths,
    styles, colours) and nodes (positions, sizes, colours)."""
    import numpy as np
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.text import Text
    if not artist.get_visible():
        return ("hidden",)
    if isinstance(artist, AxesImage):
        data = np.asarray(artist.get_array())
        return ("image", data.shape, data.dtype.str, data.tobytes(), artist.get_clim(), artist.get_alpha(),
                tuple(artist.get_extent()))
    if isinstance(artist, Text):
        return ("text", artist.get_text(), artist.get_position(), str(artist.get_color()), artist.get_fontsize(),
                artist.get_rotation())
    if isinstance(artist, Line2D):
        return ("line", _bytes(artist.get_xydata()), str(artist.get_color()), artist.get_linewidth(),
                str(artist.get_linestyle()), str(artist.get_marker()), artist.get_markersize(),
                str(artist.get_markerfacecolor()), artist.get_alpha())
    if isinstance(artist, LineCollection):   # a graph's edges
        return ("segments", tuple(_bytes(s) for s in artist.get_segments()), _bytes(artist.get_linewidths()),
                repr(artist.get_linestyles()), _bytes(artist.get_colors()), artist.get_alpha())
    if isinstance(artist, PathCollection):   # a scatter: a graph's nodes
        return ("scatter", _bytes(artist.get_offsets()), _bytes(artist.get_sizes()), _bytes(artist.get_facecolors()),
                _bytes(artist.get_edgecolors()), _bytes(artist.get_linewidths()), artist.get_alpha(),
                len(artist.get_paths()))
    return None


def _bytes(a):
    import numpy as np
    a = np.asarray(a)
    return a.shape, a.dtype.str, a.tobytes()


def _region(artist, renderer):
    """Integer display box (x0, y0, x1, y1) an artist can paint: its axes for anything clipped
    to them (1 px margin for rounding), else its own extent (2 px for antialiased glyph edges)."""
    if artist.axes is not None and artist.get_clip_on() and not hasattr(artist, "get_text"):
        box, m = artist.axes.bbox, 1
    else:
        box, m = artist.get_window_extent(renderer), 2
    return (max(int(box.x0) - m, 0), max(int(box.y0) - m, 0), int(box.x1) + m + 1, int(box.y1) + m + 1)


def _pixels(buf, box):
    """The part of an H×W×4 canvas buffer under a display box (y grows upwards, rows downwards)."""
    x0, y0, x1, y1 = box
    return buf[max(buf.shape[0] - y1, 0):buf.shape[0] - y0, x0:x1]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class Renderer:
    """Frames of ``fig`` as PNG bytes, redrawing only the ``dynamic`` artists that changed.

    ``png()`` draws the static part once (the ``dynamic`` artists are marked animated, so a
    canvas draw skips them) and keeps it as the background; each later frame restores the
    background under the regions of the artists whose content changed, and redraws them with
    whatever shares their region (an image and the map over it share their axes). On an ε change
    the clean column, its titles and a prototype's picture stay as they were. matplotlib renders
    text glyph by glyph (about 1–2.5 ms per title), so a text that overlaps no other dynamic
    artist is also kept as pixels once drawn (``sprites``, least recently used of ``n_sprites``),
    and a string seen before (``adversarial: dog (100%)``) is pasted back instead of rendered again.

    >>> r = Renderer(fig, [im, ax.title]); im.set_data(x); png = r.png()
    """

    def __init__(self, fig, dynamic, n_sprites: int = 512):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        self.fig, self.dynamic, self.n_sprites = fig, list(dynamic), n_sprites
        for artist in self.dynamic:
            artist.set_animated(True)
        self.reset()

    def reset(self) -> None:
        """Forget the background and every kept pixel: the next frame is a full redraw."""
        self.background: Any = None  # an H×W×4 array once drawn
        self.drawn: dict = {}              # artist -> (signature, region) as last drawn
        self.sprites: OrderedDict = OrderedDict()

    @contextmanager
    def full_redraws(self):
        """Within: the dynamic artists are ordinary artists (``savefig``, animations draw them);
        after: the next frame starts afresh, since the canvas was drawn over."""
        for artist in self.dynamic:
            artist.set_animated(False)
        try:
            yield self.fig
        finally:
            for artist in self.dynamic:
                artist.set_animated(True)
            self.reset()

    def png(self) -> bytes:
        """The figure as it is now, encoded as a fast, lightly compressed RGB PNG."""
        import numpy as np
        from PIL import Image
        canvas = self.fig.canvas
        renderer = canvas.get_renderer()
        if self.background is None or self.background.shape[:2] != canvas.get_width_height()[::-1]:
            canvas.draw()  # everything but the animated (dynamic) artists
            self.background = np.asarray(canvas.buffer_rgba()).copy()
            self.drawn, self.sprites = {}, OrderedDict()
        now = {a: (_signature(a), _region(a, renderer)) for a in self.dynamic}
        dirty = []
        for a, (sig, box) in now.items():
            old = self.drawn.get(a)
            if sig is None or old is None or sig != old[0]:
                dirty += [box] + ([old[1]] if old is not None else [])
        redraw = set()
        while True:  # everything overlapping a dirty region is redrawn, and its region is dirty too
            more = {a for a in self.dynamic if a not in redraw and any(_overlap(now[a][1], d) for d in dirty)}
            if not more:
                break
            redraw |= more
            dirty += [now[a][1] for a in more]
        buf = np.asarray(canvas.buffer_rgba())
        for box in dirty:
            _pixels(buf, box)[...] = _pixels(self.background, box)
        for a in self.dynamic:
            if a in redraw:
                self._draw(a, now, buf)
        out = io.BytesIO()
        # the figure is opaque: an RGB PNG is a quarter smaller and faster to encode
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB").save(
            out, format="png", compress_level=1)
        return out.getvalue()

    def _draw(self, a, now, buf) -> None:
        """Draw one artist (or paste its sprite) into the canvas buffer and remember it."""
        sig, box = now[a]
        alone = sig is not None and sig[0] == "text" and not any(
            b is not a and _overlap(box, now[b][1]) for b in self.dynamic)
        if alone and (a, sig) in self.sprites:
            _pixels(buf, box)[...] = self.sprites[(a, sig)]
            self.sprites.move_to_end((a, sig))
        else:
            self.fig.draw_artist(a)
            if alone:
                self.sprites[(a, sig)] = _pixels(buf, box).copy()
                if len(self.sprites) > self.n_sprites:
                    self.sprites.popitem(last=False)
        self.drawn[a] = now[a]
