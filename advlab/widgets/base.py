"""Panels: controls as attributes, rendering as a pure function of their values.

A panel builds its matplotlib figure once (Agg canvas, not a GUI backend) and
afterwards only calls ``set_data``/``set_text`` on the existing artists, draws,
and hands the PNG to an ``ipywidgets.Image``. So it works in JupyterLab
without extra extensions, in the static HTML of the book, and in tests with no
browser: set ``panel.eps.value = ...`` and read ``panel.state``.

Bad values never raise out of a callback: the panel shows the message instead
(``panel.message.value``) and keeps the last good picture.

Speed (``benchmarks/report.md``): panels compute with copies of their models in which batch
norm is folded into the convolutions (:func:`advlab.models.fold_batchnorm`: the same outputs
to ~1e-6, about 18 % faster per attack step at batch 1), made when the panel is created;
results are cached per control value; a frame redraws only the artists whose content changed.
"""
from __future__ import annotations

import io
import re
import logging
import os
from collections import OrderedDict

log = logging.getLogger(__name__)


def in_book() -> bool:
    """True while the book is being built (``scripts/book.sh`` sets ``ADVLAB_BOOK=1``)."""
    return os.environ.get("ADVLAB_BOOK", "") not in ("", "0")


def _signature(artist):
    """What an artist shows (``None``: unknown, always redraw): an image's pixels and colour
    scale, a text's string and style."""
    import numpy as np
    from matplotlib.image import AxesImage
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
    return None


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


class Panel:
    """Base of all panels. Subclasses define ``controls()``, ``compute(**params)`` and ``draw(state)``."""

    def __init__(self, cache_size: int = 256):
        import ipywidgets as W
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self.state = None
        self._background = None
        self.message = W.HTML(value="")
        self.image = W.Image(format="png")
        self.fig = self.build_figure()
        FigureCanvasAgg(self.fig)
        for artist in self.dynamic:
            artist.set_animated(True)
        self._controls = self.controls()
        for c in self.observed():
            c.observe(lambda _change: self.update(), names="value")
        self.update()

    # -- to override -----------------------------------------------------
    def controls(self) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def observed(self) -> list:
        """The controls whose changes trigger ``update`` (default: all of them)."""
        return self._controls

    def show_error(self, err: Exception) -> None:
        self.message.value = f"<span style='color:#b00020'>⚠ {err}</span>"

    def params(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def build_figure(self):  # pragma: no cover - abstract
        """Create the figure once; set ``self.dynamic`` to the artists ``draw`` changes."""
        raise NotImplementedError

    def draw(self, state) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared ------------------------------------------------------------
    def bind_data(self, model, images, labels, classes) -> None:
        """Validate and keep the panel's ``images``, ``labels`` and class names, checked
        against the number of classes ``model`` outputs (the caller's model mode is kept)."""
        from ..core import checks
        from ..core import frozen_eval, n_classes
        self.images = checks.images(images, "images")
        with frozen_eval(model):
            self.n_classes = n_classes(model, self.images)
        self.labels = checks.labels(labels, len(self.images), self.n_classes, name="labels")
        self.classes = list(classes) if classes is not None else [str(i) for i in range(self.n_classes)]
        if len(self.classes) != self.n_classes:
            raise ValueError(f"classes must name {self.n_classes} classes, got {len(self.classes)}")

    def _cached(self, key, fn):
        """``fn()`` memoised under ``key`` in a least-recently-used cache of ``cache_size`` entries."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = fn()
        self._cache[key] = value
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    def update(self) -> bool:
        """Recompute and redraw from the controls; on a bad value show the message. Returns success."""
        try:
            state = self.compute(**self.params())
        except ValueError as err:
            self.show_error(err)
            return False
        except Exception as err:  # a UI callback must not hand the kernel a traceback
            log.exception("panel update failed")
            self.message.value = f"<span style='color:#b00020'>⚠ {type(err).__name__}: {err}</span>"
            return False
        self.state = state
        self.draw(state)
        self.image.value = self.png()
        self.message.value = ""
        return True

    def png(self) -> bytes:
        """Redraw what changed over a cached background (blitting) and encode the pixels as a
        fast, lightly compressed PNG.

        Only the ``dynamic`` artists whose content changed since the last frame are redrawn,
        with whatever shares their region (an image and the map over it share their axes).
        On a ε change the clean column, its titles and a prototype's picture stay as they were.
        matplotlib renders text glyph by glyph (about 1–2.5 ms per title here), so a text that
        overlaps no other dynamic artist is also kept as pixels once drawn, and a string seen
        before (``adversarial: dog (100%)``) is pasted back instead of rendered again."""
        import numpy as np
        from PIL import Image
        canvas = self.fig.canvas
        renderer = canvas.get_renderer()
        if self._background is None or self._background.shape[:2] != canvas.get_width_height()[::-1]:
            canvas.draw()  # everything but the animated (dynamic) artists
            self._background = np.asarray(canvas.buffer_rgba()).copy()
            self._drawn, self._sprites = {}, OrderedDict()
        now = {a: (_signature(a), _region(a, renderer)) for a in self.dynamic}
        dirty = []
        for a, (sig, box) in now.items():
            old = self._drawn.get(a)
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
            _pixels(buf, box)[...] = _pixels(self._background, box)
        for a in self.dynamic:
            if a not in redraw:
                continue
            sig, box = now[a]
            alone = sig is not None and sig[0] == "text" and not any(
                b is not a and _overlap(box, now[b][1]) for b in self.dynamic)
            if alone and (a, sig) in self._sprites:
                _pixels(buf, box)[...] = self._sprites[(a, sig)]
                self._sprites.move_to_end((a, sig))
            else:
                self.fig.draw_artist(a)
                if alone:
                    self._sprites[(a, sig)] = _pixels(buf, box).copy()
                    if len(self._sprites) > 512:
                        self._sprites.popitem(last=False)
            self._drawn[a] = now[a]
        out = io.BytesIO()
        # the figure is opaque: an RGB PNG is a quarter smaller and faster to encode
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB").save(
            out, format="png", compress_level=1)
        return out.getvalue()

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox(self._controls[:3]), W.HBox(self._controls[3:]), self.message, self.image])

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget())

    def static(self, control, values, fmt=str):
        """The static twin: precompute one frame per value of ``control`` and return a
        matplotlib ``to_jshtml`` frame slider (HTML) that works without a kernel."""
        from IPython.display import HTML
        from matplotlib.animation import FuncAnimation
        values = list(values)
        old = control.value
        states = []
        try:
            for v in values:
                control.value = v
                if not self.update():
                    raise ValueError(f"cannot precompute the frame for {v!r}: {self.message.value}")
                states.append(self.state)
        finally:
            control.value = old
        for artist in self.dynamic:  # full redraws (savefig) skip animated artists
            artist.set_animated(False)
        try:
            self.draw(states[0])
            anim = FuncAnimation(self.fig, lambda i: self.draw(states[i]), frames=len(states), interval=600)
            html = anim.to_jshtml(default_mode="once")
        finally:
            for artist in self.dynamic:
                artist.set_animated(True)
            self._background = None  # the animation drew over the canvas: start the next frame afresh
        # matplotlib links Font Awesome 4 from a CDN for the player's icons; the book must not
        # request anything off its host, and its theme already provides Font Awesome.
        html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", html)
        self.draw(self.state)
        return HTML(html)


class UploadPanel(Panel):
    """A panel that also accepts the user's own picture: an ``upload`` FileUpload control and a
    ``use_upload`` checkbox (created by the subclass's ``controls``); cache keys of the uploaded
    picture start with ``"upload"``."""

    _upload = None

    def set_image(self, source) -> None:
        """Use your own picture (path, bytes, PIL image or array): centre-cropped, resized."""
        from .. import data
        try:
            self._upload = data.load_image(source, size=self.images.shape[-1], channels=self.images.shape[1])
        except ValueError as err:
            self.show_error(err)
            return
        self._cache = OrderedDict((k, v) for k, v in self._cache.items() if k[0] != "upload")
        if self.use_upload.value:
            self.update()
        else:
            self.use_upload.value = True

    def _on_upload(self, change):
        files = change["new"]
        if files:
            f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
            self.set_image(f["content"])


def show(panel, control, values):
    """Show ``panel`` the right way for where it runs.

    In JupyterLab: the live widget. In the book build (``ADVLAB_BOOK=1``): the
    static twin (a frame slider over ``values`` of ``control``) followed by the
    live widget collapsed in an accordion, since without a kernel it cannot react.
    """
    import ipywidgets as W
    from IPython.display import display
    if not in_book():
        display(panel.widget())
        return
    display(panel.static(control, values))
    acc = W.Accordion(children=[panel.widget()], selected_index=None)
    acc.set_title(0, "Live version (runs in JupyterLab with a kernel)")
    display(acc)
