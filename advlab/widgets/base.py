"""Panels: controls as attributes, rendering as a pure function of their values.

A panel's life: check its arguments (one rule, :class:`~advlab.widgets.controls.Range`),
build the figure once, make the controls and observe them; on every change ``compute`` the
state from ``params()`` (cached per value), ``draw`` it into the figure's artists, and let the
:class:`~advlab.widgets.render.Renderer` turn the figure into the PNG shown by ``image``. So it
works in JupyterLab without extra extensions, in the static HTML of the book (``show``), and in
tests with no browser: set ``panel.eps.value = ...`` and read ``panel.state``.

Bad values never raise out of a callback: the panel shows the message (``panel.message``,
HTML-escaped) and keeps the last good picture.

Speed (``benchmarks/report.md``): panels compute with copies of their models in which batch
norm is folded into the convolutions (:func:`advlab.models.fold_batchnorm`: the same outputs
to ~1e-6, about 18 % faster per attack step at batch 1), made when the panel is created;
results are cached per control value; a frame redraws only the artists whose content changed.
Shown live in a kernel, a panel also fills its cache in the background: after each picture a
thread computes the main slider's other stops, nearest first (:meth:`Panel.start_prefetch`), so
a student's next move finds its value computed; the thread and the callbacks take turns (one
lock), so the numbers are the ones a move would compute and torch never runs twice at once, and
it pauses while the kernel runs a cell (:data:`KERNEL`), so Run All is not slowed by it.

A part of a picture that is an optimisation of its own (chapter 5's MASK map, about 0.6 s where
the rest of the frame takes 80 ms) is *deferred* when shown live (:meth:`Panel.later`): a move
draws the frame at once with that part marked "computing" (``state.pending`` names it, and the
message says so), and the background thread computes it and sends the complete frame. It does so
outside the lock, on its own copy of the interpreter, whose model pauses before each forward pass
while a callback wants the cores and gives up once the panel shows another picture; so a move never
waits for a slow part. In the book, in tests and with ``precompute`` every frame is complete.
"""
from __future__ import annotations

import atexit
import copy
import html
import logging
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any

from .controls import Range
from .render import Renderer

log = logging.getLogger(__name__)
_job = threading.local()  # the generation a background job computes for (its copies' forward passes check it)


class _Stale(Exception):
    """A background job given up: the panel shows another picture."""


_LIVE: weakref.WeakSet = weakref.WeakSet()  # panels with a background thread


@atexit.register
def _stop_threads() -> None:
    """At exit, stop the background threads (a thread still inside torch when Python ends aborts the
    process: "terminate called without an active exception")."""
    for panel in list(_LIVE):
        panel._generation += 1
    for panel in list(_LIVE):
        if panel.prefetch_thread is not None:
            panel.prefetch_thread.join(5)


class _Yield(Exception):
    """The background thread leaves a stop half computed (its parts so far cached): a callback waits."""


def in_book() -> bool:
    """True while the book is being built (``scripts/book.sh`` sets ``ADVLAB_BOOK=1``)."""
    return os.environ.get("ADVLAB_BOOK", "") not in ("", "0")


def pixel_ratio() -> float:
    """Picture pixels per CSS pixel for the panels' PNGs: ``ADVLAB_PIXEL_RATIO`` (1 to 3; 2 on a
    high-density "retina" screen makes the pictures sharp there, at 4× the pixels to draw, encode
    and send), default 1."""
    raw = os.environ.get("ADVLAB_PIXEL_RATIO", "1")
    try:
        ratio = float(raw)
    except ValueError:
        ratio = float("nan")
    if not 1 <= ratio <= 3:
        log.warning("ADVLAB_PIXEL_RATIO must be a number in [1, 3], got %r: using 1", raw)
        return 1.0
    return ratio


class KernelActivity:
    """Whether the IPython kernel is running a cell, from its ``pre_run_cell`` / ``post_run_cell``
    events (hooked by the first panel shown live; a widget callback is not a cell). A prefetch waits
    while it is busy: two computations at once on a laptop's few cores slow both."""

    def __init__(self):
        self.busy = False
        self.shell = None

    def hook(self, shell=None) -> None:
        """Listen to ``shell``'s events (default: the running IPython, if any), once per shell. Hooked
        from inside a cell, the kernel is busy until that cell ends."""
        if shell is None:
            try:
                from IPython import get_ipython
            except ImportError:  # pragma: no cover - IPython comes with ipywidgets
                return
            shell = get_ipython()
        if shell is None or shell is self.shell:
            return
        shell.events.register("pre_run_cell", self._started)
        shell.events.register("post_run_cell", self._ended)
        self.shell, self.busy = shell, True

    def _started(self, info=None) -> None:
        self.busy = True

    def _ended(self, result=None) -> None:
        self.busy = False


#: The kernel's activity, shared by every panel of the process.
KERNEL = KernelActivity()


class Panel:
    """Base of all panels. Subclasses define ``controls()``, ``params()``, ``compute(**params)``,
    ``build_figure()`` (setting ``self.dynamic``), ``draw(state)``, and for tests ``example()``
    and ``example_changes()``; numeric constructor arguments are declared in ``ranges()``.

    One rule for bad values, in every panel:

    * **Constructor arguments** (the programmer's edge) are checked, never clamped: a number
      outside its ``ranges()`` entry (the slider's range, e.g. ε in [0/255, 32/255] on RGB images,
      steps in [1, 40]) raises a ``ValueError`` naming the argument, the range and what came,
      through ``check_arguments``; a name not on offer (attack, map, transform) raises one listing
      the accepted names. ``AttackExplorer(eps=1.0)`` raises; it no longer becomes 32/255.
    * **Control values** (the student's edge) never raise: whatever the browser can send (any
      text, any number, any upload) is either taken or shown as a message above the picture
      (HTML-escaped), and the last good picture stays. Values of a type no browser can send,
      set from Python, may be refused by the widget itself (traitlets' ``TraitError``).
    """

    CHAPTER: int | None = None
    EPS_VALUES: tuple = ()  # the ε stops ``precompute`` fills when given none
    dynamic: list  # the artists ``draw`` changes, set by ``build_figure``
    eps: Any       # the ε slider, in the panels that have one (``main_control``)

    def __init__(self, cache_size: int = 256):
        import ipywidgets as W
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = self.ranges()["cache_size"].check(cache_size, "cache_size")
        self._quiet = 0
        self._lock = threading.RLock()  # compute and draw: the callbacks' thread or the prefetch, one at a time
        self._waiting = 0               # callbacks waiting for the lock: the prefetch lets them go first
        self._generation = 0            # bumped at each picture: an older prefetch stops
        self.prefetch = False           # set by the live display (``show``): fill the cache in the background
        self.prefetch_thread: threading.Thread | None = None
        self._callbacks = 0             # callbacks waiting for or holding the lock: background jobs pause
        self._prefetching = False       # the background thread holds the lock: a waiting callback interrupts
        self._defer = False             # True while a live move computes: slow parts may be left pending
        self._jobs: list = []           # the slow parts ``later`` left for the background thread
        self._pending: tuple | None = None  # (generation, jobs) of the shown picture while a part is pending
        self._twins: dict = {}          # id(object) -> the background thread's copy (``later``)
        self._running: dict = {}        # slow part -> threading.Event, set when the job computing it ends
        self._yield_hooks = False       # the models' forward pre-hooks that interrupt a prefetched part
        self.state = None
        self.message = W.HTML(value="")
        self.image = W.Image(format="png")
        self.fig = self.build_figure()
        # Shown at the size it is drawn: ``pixel_ratio()`` picture pixels per CSS pixel (JupyterLab
        # stretched the ~576 px PNGs to the ~1060 px output width: blurred, and too tall for a laptop
        # screen); narrower outputs shrink it (max-width), never wider.
        ratio = pixel_ratio()
        if ratio != 1:
            self.fig.set_dpi(self.fig.dpi * ratio)
        self.renderer = Renderer(self.fig, self.dynamic)
        width = self.fig.canvas.get_width_height()[0] / ratio
        self.image.layout = W.Layout(width=f"{width:.0f}px", max_width="100%", height="auto")
        self._controls = self.controls()
        for c in self.observed():
            c.observe(lambda _change: self.update(), names="value")
        self.update()

    # -- to override -----------------------------------------------------------
    def controls(self) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def observed(self) -> list:
        """The controls whose changes trigger ``update`` (default: all of them)."""
        return self._controls

    def ranges(self) -> dict:
        """Name → ``Range`` of every numeric constructor argument."""
        return {"cache_size": Range(1, 100_000, integer=True)}

    def params(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def build_figure(self):  # pragma: no cover - abstract
        """Create the figure once; set ``self.dynamic`` to the artists ``draw`` changes."""
        raise NotImplementedError

    def draw(self, state) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def example(cls, **kwargs) -> Panel:  # pragma: no cover - abstract
        """The panel on tiny untrained models and a few random images (fast; for tests)."""
        raise NotImplementedError

    def example_changes(self) -> list:  # pragma: no cover - abstract
        """(control name, valid new value) for every control, in an order that keeps each valid."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------
    def check_arguments(self, **values) -> dict:
        """Each value checked against ``ranges()`` (``ValueError`` naming argument, range and value)."""
        ranges = self.ranges()
        return {k: ranges[k].check(v, k) for k, v in values.items()}

    @property
    def named_controls(self) -> dict:
        """Attribute name → control, for every control of the panel."""
        return {k: v for k, v in vars(self).items() if any(v is c for c in self._controls)}

    def bind_data(self, model, images, labels, classes) -> None:
        """Validate and keep the panel's ``images``, ``labels`` and class names, checked
        against the number of classes ``model`` outputs (the caller's model mode is kept)."""
        from ..core import checks, frozen_eval, n_classes
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
        if self._prefetching and self._waiting:  # the background thread lets a waiting move go first
            raise _Yield
        value = fn()
        self._cache[key] = value
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    def show_error(self, err: Exception) -> None:
        """Show ``err`` above the picture (HTML-escaped: typed ``<b>`` stays text)."""
        text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        self.message.value = f"<span style='color:#b00020'>⚠ {html.escape(text, quote=False)}</span>"

    @contextmanager
    def one_render(self):
        """Change several controls inside; the panel renders once, on leaving."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1
        self.update()

    def update(self) -> bool:
        """Recompute and redraw from the controls; on a bad value show the message and keep the
        last picture. Returns success."""
        if self._quiet:
            return False
        try:
            with self._turn():
                self._generation += 1
                state, jobs = self._compute_frame(self.params(), defer=self.prefetch)
                self.draw(state)
                png = self.png()
                pending = tuple(getattr(state, "pending", ()) or ())
                self._pending = (self._generation, jobs) if jobs else None
        except ValueError as err:
            self.show_error(err)
            return False
        except Exception as err:  # a UI callback must not hand the kernel a traceback
            log.exception("panel update failed")
            self.show_error(err)
            return False
        self.state, self.image.value, self.message.value = state, png, self.pending_note(pending)
        if self.prefetch:
            self.start_prefetch()
        return True

    def deferring(self) -> bool:
        """True while a live move (or the background thread ahead of one) computes a frame: then
        :meth:`later` leaves slow parts that are not cached to the background thread."""
        return self._defer

    def later(self, key, fn, *objs):
        """``fn(*objs)`` memoised under ``key`` like ``_cached``, for a slow part of a frame (an
        optimisation per map). While :meth:`deferring`, a value not cached yet is not computed:
        ``later`` returns ``None`` (``compute`` draws the part as "computing" and names it in
        ``state.pending``) and queues ``fn`` for the background thread, which calls it on copies of
        ``objs`` (e.g. the interpreter and so its model) whose forward passes pause while a
        callback wants the cores."""
        if key in self._cache or not self._defer:
            return self._cached(key, lambda: fn(*objs))
        self._jobs.append((key, fn, objs))
        return None

    def _compute_frame(self, params: dict, defer: bool):
        """``compute(**params)`` (deferring slow parts if ``defer``) and the jobs it left."""
        self._defer, self._jobs = defer, []
        try:
            return self.compute(**params), self._jobs
        finally:
            self._defer, self._jobs = False, []

    def _twin(self, obj):
        """The background thread's copy of ``obj``: every module in it pauses before its forward
        pass while a callback waits for or holds the lock (or a cell runs), and raises ``_Stale``
        once the panel shows another picture than the one the job computes for."""
        if id(obj) not in self._twins:
            twin = copy.deepcopy(obj)
            for m in self._modules_of(twin):
                m.register_forward_pre_hook(lambda *_: self._pause())
            self._twins[id(obj)] = (obj, twin)  # obj kept: its id stays its own
        return self._twins[id(obj)][1]

    @staticmethod
    def _modules_of(obj) -> list:
        """``obj`` if it is a module, else its attributes that are (an interpreter's model)."""
        import torch
        if isinstance(obj, torch.nn.Module):
            return [obj]
        return [v for v in vars(obj).values() if isinstance(v, torch.nn.Module)] if hasattr(obj, "__dict__") else []

    def _models(self) -> list:
        """The models the panel computes with: its attributes that are modules, or dicts, lists or
        objects (an interpreter) holding modules, one level down."""
        import torch
        found: dict = {}

        def add(value, depth):
            if isinstance(value, torch.nn.Module) or (depth and not isinstance(value, (dict, list, tuple, type))):
                found.update((id(m), m) for m in self._modules_of(value))
            elif depth and isinstance(value, dict):
                for v in value.values():
                    add(v, depth - 1)
            elif depth and isinstance(value, (list, tuple)):
                for v in value:
                    add(v, depth - 1)
        for v in vars(self).values():
            if v is not self and not isinstance(v, (Renderer, threading.Thread)):
                add(v, 2)
        return list(found.values())

    def _hook_yield(self) -> None:
        """Let a waiting move interrupt the prefetch inside a part too (an attack's next step, a
        map's next pass), not only between parts: each model's forward pass first checks."""
        if self._yield_hooks:
            return
        for m in self._models():
            m.register_forward_pre_hook(lambda *_: self._yield_now())
        self._yield_hooks = True

    def _yield_now(self) -> None:
        if self._prefetching and self._waiting and threading.current_thread() is self.prefetch_thread:
            raise _Yield

    def _pause(self):
        while self._callbacks or KERNEL.busy:
            time.sleep(0.002)
        if _job.generation != self._generation and not self._wanted(_job.key):
            raise _Stale

    def _wanted(self, key) -> bool:
        """Whether the picture shown now waits for the slow part ``key``."""
        pending = self._pending
        return pending is not None and pending[0] == self._generation and any(k == key for k, _, _ in pending[1])

    def _run_jobs(self, jobs, generation) -> bool:
        """Compute ``jobs`` outside the lock on the twins and cache them; False if given up. A job
        goes on after a move if the new picture waits for the same part; a part another thread is
        computing is waited for, not computed twice."""
        _job.generation = generation
        try:
            for key, fn, objs in jobs:
                other = self._running.get(key)
                if other is not None:
                    other.wait()
                if key in self._cache:
                    continue
                _job.key, done = key, threading.Event()
                self._running[key] = done
                try:
                    value = fn(*[self._twin(o) for o in objs])
                finally:
                    self._running.pop(key, None)
                    done.set()
                with self._lock:
                    self._cached(key, lambda v=value: v)
        except _Stale:
            return False
        except Exception as err:  # noqa: BLE001 - a thread has no one to raise to: shown instead
            log.exception("a deferred part failed")
            self.show_error(err)
            return False
        finally:
            _job.generation = _job.key = None
        return True

    @staticmethod
    def pending_note(pending) -> str:
        """The message shown while ``pending`` parts of the frame are computed (empty if none); its
        class ``advlab-pending`` lets the browser benchmark time the complete frame."""
        if not pending:
            return ""
        return (f"<span class='advlab-pending' style='color:#555'>⏳ {html.escape(', '.join(pending))}: "
                "computing, the picture completes in a moment</span>")

    @contextmanager
    def _turn(self):
        """The lock, for a callback: the prefetch waits (``_waiting``) until the callback has had it."""
        self._waiting += 1
        self._callbacks += 1
        try:
            self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()
            self._callbacks -= 1

    def main_control(self) -> tuple[str, Any]:
        """The ``params()`` name and the control of the panel's main slider (default ε, the
        ``eps`` slider the panels with an ε make)."""
        return "eps", self.eps

    def stops(self) -> list:
        """Every value the main slider can take: a selection slider's options, or a number slider's
        ``min + k·step`` up to ``max``."""
        _, control = self.main_control()
        if hasattr(control, "options"):
            return [v for _, v in control.options] if control.options and isinstance(control.options[0], tuple) \
                else list(control.options)
        n = round((control.max - control.min) / control.step)
        return [round(control.min + k * control.step, 12) for k in range(n + 1)]

    def start_prefetch(self) -> threading.Thread:
        """Compute, in a background thread, the main slider's other stops for the current settings
        (nearest to the current value first) into the cache, so the next moves only draw. It takes
        turns with the callbacks (one lock): a move that waits interrupts the stop at the next
        forward pass of the panel's models (an attack's next step), and the stop goes on from its
        cached parts afterwards; the slow parts (:meth:`later`) run outside the lock. It stops as soon as the
        panel shows another picture, which starts a fresh one from there; a picture drawn with a
        part pending is completed first. Returns the thread (``join`` it to wait)."""
        self._hook_yield()
        name, _ = self.main_control()
        params, generation = self.params(), self._generation
        stops, here = self.stops(), params[name]
        if isinstance(here, (int, float)) and not isinstance(here, bool):
            at = min(range(len(stops)), key=lambda k: abs(stops[k] - here))
        else:
            at = stops.index(here) if here in stops else 0
        values = [stops[k] for k in sorted(range(len(stops)), key=lambda k: abs(k - at))]

        def wait():
            # a lock is not fair: without this the thread could take it back at once; and a cell
            # running (Run All) goes first too
            while self._waiting or KERNEL.busy:
                time.sleep(0.002)

        def run():
            pending = self._pending
            if pending is not None and pending[0] == generation:   # the shown frame first
                if not self._run_jobs(pending[1], generation):
                    return
                wait()
                with self._lock:
                    if self._generation != generation:
                        return
                    try:
                        state = self.compute(**params)   # every part cached now
                        self.draw(state)
                        self._pending = None
                        self.state, self.image.value, self.message.value = state, self.png(), ""
                    except Exception as err:  # noqa: BLE001 - shown, never raised in a thread
                        log.exception("completing the deferred frame failed")
                        self.show_error(err)
            for v in values:
                jobs = None
                while jobs is None:
                    wait()
                    with self._lock:
                        if self._generation != generation:
                            return
                        self._prefetching = True
                        try:
                            _, jobs = self._compute_frame({**params, name: v}, defer=True)
                        except _Yield:  # a move waits: it goes first, then this stop goes on from its cached parts
                            continue
                        except Exception:  # a stop the settings cannot take: the move will show why
                            log.debug("prefetch of %s=%r failed", name, v, exc_info=True)
                            jobs = []
                        finally:
                            self._prefetching = False
                if jobs and not self._run_jobs(jobs, generation):
                    return

        self.prefetch_thread = threading.Thread(target=run, name=f"{type(self).__name__}-prefetch-{generation}",
                                                daemon=True)
        _LIVE.add(self)
        self.prefetch_thread.start()
        return self.prefetch_thread

    def show_live(self):
        """The live widget, with the background prefetch on (:meth:`start_prefetch`; it waits for
        the cell showing the panel, and any later one, to end)."""
        KERNEL.hook()
        self.prefetch = True
        self.start_prefetch()
        return self.widget()

    def precompute(self, eps_values=None) -> float:
        """Fill the cache for the current settings at each ε of ``eps_values`` (default: the panel's
        ``EPS_VALUES``) through ``compute``; returns the seconds it took."""
        t0 = time.perf_counter()
        p = self.params()
        for eps in self.EPS_VALUES if eps_values is None else eps_values:
            with self._lock:
                self.compute(**{**p, "eps": eps})
        return time.perf_counter() - t0

    def png(self) -> bytes:
        """The figure as a PNG, redrawing only what changed (:class:`Renderer`)."""
        return self.renderer.png()

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox(self._controls[:3]), W.HBox(self._controls[3:]), self.message, self.image])

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget() if in_book() else self.show_live())

    def static(self, control, values):
        """The static twin: precompute one frame per value of ``control`` and return a
        matplotlib ``to_jshtml`` frame slider (HTML) that works without a kernel."""
        from IPython.display import HTML
        from matplotlib.animation import FuncAnimation
        values, old, states = list(values), control.value, []
        try:
            for v in values:
                control.value = v
                if not self.update():
                    raise ValueError(f"cannot precompute the frame for {v!r}: {self.message.value}")
                states.append(self.state)
        finally:
            control.value = old
        with self.renderer.full_redraws():  # savefig-style frames draw every artist
            self.draw(states[0])
            anim = FuncAnimation(self.fig, lambda i: self.draw(states[i]), frames=len(states), interval=600)
            page = anim.to_jshtml(default_mode="once")
        # matplotlib links Font Awesome 4 from a CDN for the player's icons; the book must not
        # request anything off its host, and its theme already provides Font Awesome.
        page = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", page)
        self.draw(self.state)
        return HTML(page)


def show(panel, control, values):
    """Show ``panel`` the right way for where it runs.

    In JupyterLab: the live widget. In the book build (``ADVLAB_BOOK=1``): the
    static twin (a frame slider over ``values`` of ``control``) followed by the
    live widget collapsed in an accordion, since without a kernel it cannot react.
    """
    import ipywidgets as W
    from IPython.display import display
    if not in_book():
        display(panel.show_live())
        return
    display(panel.static(control, values))
    acc = W.Accordion(children=[panel.widget()], selected_index=None)
    acc.set_title(0, "Live version (runs in JupyterLab with a kernel)")
    display(acc)
