"""One contract for every panel of ``al.widgets.PANELS``, each built on tiny untrained models
(``cls.example()``), so that a new panel gets these tests by being listed:

(a) every control set to a valid new value renders exactly once, and the frame is pixel-identical
    to a full redraw;
(b) bad values (NaN, ±inf, out of range, empty or garbage text, a file that is no picture or too
    large to open) leave an HTML-escaped message, keep the last picture and raise nothing; a value
    of the wrong type is refused by the widget itself (traitlets' ``TraitError``, before the panel
    sees anything: a browser cannot send one), and sliders clamp numbers into their range;
(c) constructor arguments out of range (or not numbers: strings, booleans, None, NaN) raise a
    ``ValueError`` naming the argument, the accepted range and what came; NumPy scalars are numbers.
    ``tests/test_widget_fuzz.py`` drives the same panels with many more values.
"""
import inspect
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from traitlets import TraitError

import advlab as al
from advlab.widgets import PANELS
from advlab.widgets.controls import upload_value

BAD_TEXT = ["", "   ", "abc", "nan", "inf", "-inf", "1e9", "-1e9", "8/0", "<b>x</b>"]
BAD_ANY = [float("nan"), float("inf"), float("-inf"), "abc", "", None, "<b>x</b>", 10**9, -10**9]


def _png_claiming(width, height):
    """A PNG whose header claims width × height pixels (decoding it would need gigabytes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


BAD_FILES = {"random bytes": np.random.default_rng(0).bytes(2000), "text file": b"name,value\nx,1\n",
             "empty file": b"", "truncated PNG": al.widgets.examples.png_bytes()[:80],
             "bomb (400 Mpixels)": _png_claiming(20000, 20000), "bomb (100 Mpixels)": _png_claiming(10000, 10000)}


@pytest.fixture(params=sorted(PANELS))
def panel(request):
    return PANELS[request.param].example()


@pytest.fixture(scope="module")
def built():
    """One example of each panel, for tests that only read it."""
    return {name: cls.example() for name, cls in PANELS.items()}


def _count_renders(panel):
    calls = {"compute": 0, "draw": 0, "png": 0}
    def counting(part):
        fn = getattr(panel, part)

        def counted(*args, **kwargs):
            calls[part] += 1
            return fn(*args, **kwargs)
        return counted
    for part in calls:
        setattr(panel, part, counting(part))
    return calls


def _pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def _kept(panel, before):
    return panel.image.value == before[0] and panel.state is before[1]


def test_registry_names_classes_and_their_chapters():
    assert set(PANELS) == {"ActivationShift", "AttackExplorer", "InterpretationDiscrepancy", "LayerExplorer", "MapComparison",
                           "Pathways", "TextureLab", "UnderFire"}
    for name, cls in PANELS.items():
        assert issubclass(cls, al.widgets.Panel) and cls.__name__ == name
        assert f"Chapter {cls.CHAPTER}" in cls.__doc__


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_control_is_an_attribute_and_gets_a_valid_change(built, name):
    panel = built[name]
    named = panel.named_controls
    assert len(named) == len(panel._controls)
    assert set(named) == {name for name, _ in panel.example_changes()}


def test_each_valid_change_renders_exactly_once_and_as_a_full_redraw(panel):
    assert panel.message.value == "" and panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    calls = _count_renders(panel)
    for name, value in panel.example_changes():
        before = panel.state
        calls.update(compute=0, draw=0, png=0)
        getattr(panel, name).value = value
        assert calls == {"compute": 1, "draw": 1, "png": 1}, (name, value)
        assert panel.message.value == "" and panel.state is not before, (name, value, panel.message.value)
        fresh = al.widgets.Renderer(panel.fig, panel.dynamic)   # every artist drawn afresh
        assert np.array_equal(_pixels(panel.image.value), _pixels(fresh.png())), name


def test_bad_text_leaves_an_escaped_message_and_the_last_picture(panel):
    texts = {k: c for k, c in panel.named_controls.items() if type(c).__name__ == "Text"}
    assert texts or type(panel).__name__ == "TextureLab"
    for name, control in texts.items():
        for bad in BAD_TEXT:
            before = panel.image.value, panel.state
            panel.message.value = ""
            control.value = bad
            assert panel.message.value and _kept(panel, before), (name, bad)
            if "<" in bad:
                assert "&lt;b&gt;x&lt;/b&gt;" in panel.message.value and "<b>" not in panel.message.value


def test_bad_values_in_other_controls_never_reach_the_caller(panel):
    for name, control in panel.named_controls.items():
        if type(control).__name__ in ("Text", "FileUpload"):
            continue
        for bad in BAD_ANY:
            before = panel.image.value, panel.state, control.value
            panel.message.value = ""
            try:
                control.value = bad
            except TraitError:        # refused by the widget: the panel did not move
                assert _kept(panel, before) and not panel.message.value, (name, bad)
            else:                     # taken: refused by the panel, or clamped by a slider into range
                assert (panel.message.value and _kept(panel, before)) or (
                    not panel.message.value and control.min <= control.value <= control.max), (name, bad)
            control.value = before[2]
            assert panel.message.value == "", (name, bad, panel.message.value)


def test_nan_in_a_number_control_shows_a_message(panel):
    for control in panel.named_controls.values():
        if type(control).__name__ != "FloatSlider":
            continue
        before = panel.image.value, panel.state, control.value
        control.value = float("nan")
        assert "must be" in panel.message.value and "got nan" in panel.message.value and _kept(panel, before)
        control.value = before[2]
        assert panel.message.value == "" and panel.state is not before[1]


@pytest.fixture(params=sorted(k for k, cls in PANELS.items() if issubclass(cls, al.widgets.UploadPanel)))
def upload_panel(request):
    return PANELS[request.param].example()


def test_garbage_uploads_leave_a_message_and_the_last_picture(upload_panel):
    panel = upload_panel
    for what in sorted(BAD_FILES) + ["no content"]:
        before = panel.image.value, panel.state
        panel.message.value = ""
        value = upload_value(BAD_FILES.get(what, b""), "x.png")
        if what == "no content":
            value[0]["content"] = None
        panel.upload.value = value
        assert panel.message.value and _kept(panel, before) and not panel.use_upload.value, what
        if what.startswith("bomb"):
            assert "too large to open safely" in panel.message.value, what


def test_use_upload_without_an_upload_leaves_a_message(upload_panel):
    panel = upload_panel
    before = panel.image.value, panel.state
    panel.use_upload.value = True
    assert "no image uploaded" in panel.message.value and _kept(panel, before)


@pytest.mark.parametrize("name", sorted(PANELS))
def test_constructor_arguments_follow_one_rule(built, name):
    cls = PANELS[name]
    ranges = built[name].ranges()
    numeric = {p.name for p in inspect.signature(cls.__init__).parameters.values()
               if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)}
    assert numeric <= set(ranges), numeric - set(ranges)
    for arg, accepted in ranges.items():
        bad = [accepted.lo - 1, accepted.hi + 1, accepted.hi * 4 + 1, float("nan"), float("inf"), "abc", True]
        bad += [None] if inspect.signature(cls.__init__).parameters[arg].default is not None else []  # None: default
        bad += [accepted.lo + 0.5] if accepted.integer else []
        for value in bad:
            with pytest.raises(ValueError) as err:
                cls.example(**{arg: value})
            msg = str(err.value)
            assert msg.startswith(f"{arg} must be") and str(accepted) in msg and msg.endswith(f"got {value!r}"), msg
        lo = np.float64(accepted.lo) if not accepted.integer else np.int64(accepted.lo)  # NumPy scalars are numbers
        assert cls.example(**{arg: lo}).message.value == "", arg
    for arg in [p.name for p in inspect.signature(cls.__init__).parameters.values() if isinstance(p.default, str)]:
        with pytest.raises(ValueError, match=f"unknown {arg} 'nonsense'; accepted values: "):
            cls.example(**{arg: "nonsense"})


# -- (d) the background prefetch ---------------------------------------------------------------
def _stops_to_visit(panel):
    """A few of the main slider's stops other than the current one (the ends and the middle)."""
    stops = panel.stops()
    here = panel.main_control()[1].value
    return [v for v in dict.fromkeys([stops[1], stops[len(stops) // 2], stops[-1]]) if v != here]


def test_prefetch_fills_every_stop_so_moves_only_draw(panel):
    """After the prefetch thread ends, every stop of the main slider is cached: moving there adds no
    cache entry (nothing computed), and the picture is the one a panel without prefetch shows."""
    name, control = panel.main_control()
    assert panel.start_prefetch().join(120) is None and not panel.prefetch_thread.is_alive()
    cached = set(panel._cache)
    fresh = type(panel).example()
    for v in _stops_to_visit(panel):
        control.value = v
        assert set(panel._cache) == cached, f"{type(panel).__name__}: {name}={v} was not prefetched"
        fresh.main_control()[1].value = v
        assert panel.image.value == fresh.image.value


def test_a_move_stops_the_running_prefetch_and_restarts_it_from_there(panel):
    """A prefetch started before a move computes nothing after it (the move bumps the generation);
    the live display's new thread fills from the new value, and the picture is the one a panel
    without prefetch shows."""
    import threading
    computed_by = []
    compute = panel.compute
    def recording(**params):
        computed_by.append(threading.current_thread().name)
        return compute(**params)
    panel.compute = recording
    name, control = panel.main_control()
    target = _stops_to_visit(panel)[-1]
    with panel._lock:  # the thread waits for its first stop while the move happens
        old = panel.start_prefetch()
        panel.prefetch = True
        control.value = target
    old.join(120)
    new = panel.prefetch_thread
    assert new is not old
    new.join(120)
    assert old.name not in computed_by and old.name != new.name
    assert computed_by.count(threading.main_thread().name) == 1
    fresh = type(panel).example()
    fresh.main_control()[1].value = target
    assert panel.image.value == fresh.image.value


def test_show_live_turns_the_prefetch_on_and_the_book_does_not(panel, monkeypatch):
    monkeypatch.setenv("ADVLAB_BOOK", "1")
    panel._ipython_display_()
    assert panel.prefetch is False and panel.prefetch_thread is None
    monkeypatch.delenv("ADVLAB_BOOK")
    panel._ipython_display_()
    assert panel.prefetch is True and panel.prefetch_thread is not None
    panel.prefetch_thread.join(120)


def _recorder(events, label):
    """Wraps a call: the background thread's calls are recorded as ``label`` (and take 20 ms), the
    callback's as "move"."""
    import threading
    import time

    def record(fn):
        background = threading.current_thread() is not threading.main_thread()
        events.append(label if background else "move")
        if background:
            time.sleep(0.02)
        return fn()
    return record


def _move_during_the_prefetch(panel, events, label):
    """Start the prefetch, wait for its first ``label``, then move the main slider to a far stop:
    (the thread, the events recorded after the move began to wait)."""
    import time
    thread = panel.start_prefetch()
    while label not in events:
        time.sleep(0.001)
    events.append("waiting")
    panel.main_control()[1].value = _stops_to_visit(panel)[-1]
    return thread, events[events.index("waiting") + 1:]


def test_a_move_waits_for_at_most_one_prefetched_stop(panel):
    """The prefetch yields to a waiting callback (a lock alone is not fair: the thread could take it
    back stop after stop): after the callback starts waiting, at most one more stop is computed
    before it runs."""
    events = []
    compute, record = panel.compute, _recorder(events, "stop")
    panel.compute = lambda **params: record(lambda: compute(**params))
    thread, after = _move_during_the_prefetch(panel, events, "stop")
    thread.join(120)
    assert "move" in after and after[:after.index("move")].count("stop") <= 1, events


def test_the_prefetch_waits_while_the_kernel_runs_a_cell(panel, monkeypatch):
    """Hooked to IPython's cell events (a stand-in shell here), the prefetch computes nothing while a
    cell runs (Run All must not share the CPU with it) and resumes when the cell ends."""
    import time

    from advlab.widgets import base

    class Events:
        def __init__(self):
            self.callbacks = {}

        def register(self, name, fn):
            self.callbacks.setdefault(name, []).append(fn)

    class Shell:
        events = Events()

    kernel = base.KernelActivity()
    monkeypatch.setattr(base, "KERNEL", kernel)
    shell = Shell()
    kernel.hook(shell)
    kernel.hook(shell)                              # once per shell
    assert [len(v) for v in shell.events.callbacks.values()] == [1, 1] and kernel.busy  # hooked inside a cell
    computed = []
    compute = panel.compute
    panel.compute = lambda **p: computed.append(p) or compute(**p)
    thread = panel.start_prefetch()
    time.sleep(0.2)
    assert computed == [] and thread.is_alive()
    shell.events.callbacks["post_run_cell"][0](None)    # the cell ends
    thread.join(120)
    assert len(computed) == len(panel.stops())
    shell.events.callbacks["pre_run_cell"][0](None)
    assert kernel.busy


def test_a_move_interrupts_the_prefetched_stop_between_its_parts(panel):
    """A waiting move does not wait for the whole stop the prefetch is computing: the stop yields
    before its next part that is not cached (an attack, a map), and is finished later from its
    cached parts (so every stop is still filled)."""
    events = []
    cached, record = panel._cached, _recorder(events, "part")
    panel._cached = lambda key, fn: cached(key, lambda: record(fn))
    thread, after = _move_during_the_prefetch(panel, events, "part")
    assert "move" in after and after[:after.index("move")].count("part") <= 1, events
    thread.join(120)
    panel.start_prefetch().join(120)
    before = set(panel._cache)
    for v in _stops_to_visit(panel):
        panel.main_control()[1].value = v
    assert set(panel._cache) == before


def test_a_move_interrupts_the_prefetched_part_at_its_next_forward_pass(panel):
    """Inside a part too (an attack's steps, a map's passes): once a move waits, the prefetch stops
    at the next forward pass of the panel's models, so the move waits for one pass, not one attack."""
    events = []
    models = panel._models()
    assert models, "the panel's models are found (its attributes, dicts of them, interpreters)"
    panel._hook_yield()                             # the yield check runs before the recorder below
    record = _recorder(events, "pass")
    handles = [m.register_forward_pre_hook(lambda *_: record(lambda: None)) for m in models]
    try:
        thread, after = _move_during_the_prefetch(panel, events, "pass")
        thread.join(120)
    finally:
        for h in handles:
            h.remove()
    # the pass in progress when the move began to wait, and one started just before its count rose
    assert "move" in after and after[:after.index("move")].count("pass") <= 2, events
