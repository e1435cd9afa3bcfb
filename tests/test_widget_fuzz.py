"""Fuzz every panel of ``al.widgets.PANELS`` through its controls and its upload, the way a student
(or a notebook cell) can.

The rule, per value given to a control:

* **What a browser can send must be handled by the panel**: any text in a ``Text`` box, any number
  in a slider (the front end clamps, but a kernel-side ``slider.value = x`` does not always), any
  option (or none) of a dropdown, any bytes in an upload. No exception leaves the assignment;
  either the value is taken (the slider clamps it into its range, or the panel renders it: no
  message) or it is refused: the panel shows a message, HTML-escaped, and keeps the last picture
  (the PNG bytes and ``panel.state`` are the ones from before).
* **A value of the wrong type set from Python** (``"abc"`` or ``None`` for a ``FloatSlider``, a list
  for a ``Text``) may be refused by the widget itself with traitlets' ``TraitError`` *at the
  assignment*: a browser cannot send it, and the panel has not moved (same picture, same state, no
  message, the control's value unchanged). Any other exception fails the test, except one quirk of
  ipywidgets 8: a dropdown or selection slider given a tuple raises ``TypeError`` while formatting
  its own "not in array" message; it is held to the same check. A ``SelectionSlider`` given
  ``None`` keeps it as its value while its index refuses it (the panel is not told): the test puts
  the old value back.
* A refusal comes from a check, not an accident: no panel update may fail with anything but a
  ``ValueError`` (the "panel update failed" log record of ``Panel.update``'s catch-all).

Each control gets a fixed list of hostile values and a few dozen drawn by hypothesis (bounded,
derandomised); uploads get garbage, empty, truncated, over-size and decompression-bomb files and
valid ones (a 16-bit PNG, a JPEG over the pixel limit that loads drafted down). ``CASES`` counts
what ran; each test checks that every control got every value.
"""
import html
import io
import logging
import math
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from traitlets import TraitError

import advlab as al
from advlab.widgets import PANELS
from advlab.widgets.controls import upload_value

WRONG_TYPES = [None, [], [1], {}, (), object(), b"8/255", 1j]
HOSTILE_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e300, -1e300, 10**400, -(10**400), 1e-300, -1, 0,
                   0.5, 2**63, True, False, "", "abc", "<b>x</b>", "8/0", "8/255", "nan"]
HOSTILE_TEXT = ["", " ", "abc", "<b>x</b>", "<script>alert(1)</script>", "&amp;", "'\"", "\x00", "8/0", "0/0",
                "8/255", "0/255", "32/255", "33/255", "-1/255", "1/-255", "8//255", "8/255/2", "nan", "inf", "-inf",
                "1e400", "1e10000000", "-1e400", "9" * 5000, "１２", "²", "٣", "none", "None", "-1", "4", "99", "e",
                "0x10", "1_0", " 4/255 ", "+0.01"]
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
NUMBERS = st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.floats(-2.0, 2.0), st.booleans())
TEXTS = st.one_of(st.text(max_size=24),
                  st.builds("{}/{}".format, st.integers(-300, 300), st.integers(-300, 300)),
                  st.floats().map(str), st.integers(-(10**6), 10**6).map(str),
                  st.from_regex(r"\A[0-9 ./eE+\-<>&a-z]{0,12}\Z"))
CASES: Counter = Counter()
_PANELS: dict = {}


def _panel(name):
    if name not in _PANELS:
        _PANELS[name] = PANELS[name].example()
    return _PANELS[name]


def _escaped(message):
    """The text inside ``show_error``'s span, checked to be HTML-escaped: no raw tag can get in."""
    m = re.fullmatch(r"<span style='color:#b00020'>⚠ (.*)</span>", message, re.S)
    assert m, message
    inner = m.group(1)
    assert "<" not in inner and ">" not in inner, message
    assert html.escape(html.unescape(inner), quote=False) == inner, message
    return html.unescape(inner)


@pytest.fixture
def failures(caplog):
    """Records of ``Panel.update``'s catch-all: an update that failed other than with a ValueError."""
    caplog.set_level(logging.ERROR, logger="advlab.widgets.base")
    return caplog


def _same(a, b):
    return a is b or a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _one_case(panel, name, control, value, failures, kind):
    """Give ``control`` the ``value``; check the rule of the module docstring."""
    CASES[kind] += 1
    before_png, before_state, before_value = panel.image.value, panel.state, control.value
    panel.message.value = ""
    try:
        try:
            control.value = value
        except TypeError:  # ipywidgets' selection widgets format a tuple value into their own message
            if not (isinstance(value, tuple) and hasattr(control, "options")):
                raise
            raise TraitError(f"{value!r} not in options") from None
    except TraitError:  # refused by the widget (a type a browser cannot send): the picture did not move
        assert panel.image.value == before_png and panel.state is before_state, (name, value)
        assert not failures.records, (name, value, failures.text)
        if not _same(control.value, before_value):  # half-applied (SelectionSlider.value = None)
            if panel.message.value:
                _escaped(panel.message.value)
            with _silently(panel):
                control.value = before_value
        else:
            assert not panel.message.value, (name, value)
        return
    assert not failures.records, (name, value, failures.text)
    if panel.message.value:  # refused by the panel: message, escaped; last picture kept
        text = _escaped(panel.message.value)
        assert text and panel.image.value == before_png and panel.state is before_state, (name, value, text)
        with _silently(panel):  # back to the controls the picture shows, without a render
            control.value = before_value
    else:  # taken: clamped into a slider's range, or rendered
        if hasattr(control, "max") and isinstance(control.value, (int, float)):
            assert control.min <= control.value <= control.max, (name, value, control.value)
        assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n" and panel.state is not None, (name, value)


class _silently:
    """Restore a control without rendering (``Panel.update`` returns early while quiet)."""

    def __init__(self, panel):
        self.panel = panel

    def __enter__(self):
        self.panel._quiet += 1

    def __exit__(self, *exc):
        self.panel._quiet -= 1


def _recovers(panel, name, control, good, failures):
    """After the fuzz, the control's first value renders again with no message."""
    control.value = good
    assert panel.update() and panel.message.value == "" and not failures.records, (name, panel.message.value)


def _controls(name, upload=False):
    return [(k, c) for k, c in _panel(name).named_controls.items() if (type(c).__name__ == "FileUpload") == upload]


@pytest.mark.parametrize("name", sorted(PANELS))
def test_fuzz_every_control_with_hostile_values(name, failures):
    panel = _panel(name)
    before, expected = CASES["hostile"], 0
    for cname, control in _controls(name):
        good = control.value
        values = HOSTILE_TEXT if type(control).__name__ == "Text" else HOSTILE_NUMBERS
        for value in [*values, *WRONG_TYPES]:
            _one_case(panel, cname, control, value, failures, "hostile")
        expected += len(values) + len(WRONG_TYPES)
        _recovers(panel, cname, control, good, failures)
    assert _controls(name) and CASES["hostile"] - before == expected  # every control got every value


@pytest.mark.parametrize("name", sorted(PANELS))
def test_fuzz_every_control_with_hypothesis(name, failures):
    panel = _panel(name)
    for cname, control in _controls(name):
        good = control.value
        text = type(control).__name__ == "Text"

        @SETTINGS
        @given(st.one_of(TEXTS, NUMBERS) if text else st.one_of(NUMBERS, TEXTS))
        def fuzz(value):
            _one_case(panel, cname, control, value, failures, "hypothesis")

        fuzz()
        _recovers(panel, cname, control, good, failures)


def _png(mode, size, fill=0, **save):
    buf = io.BytesIO()
    Image.new(mode, size, fill).save(buf, "PNG", **save)
    return buf.getvalue()


def _bomb():
    """A 1-bit 20000×20000 PNG: 48 kB on disk, 400 million pixels claimed."""
    return _png("1", (20000, 20000))


def _jpeg(size):
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def _uploads():
    good = al.widgets.examples.png_bytes()
    grey16 = io.BytesIO()
    Image.fromarray(np.full((20, 20), 30000, np.uint16)).save(grey16, "PNG")
    return {  # name -> (bytes, accepted?, words the message must hold)
        "zero bytes": (b"", False, "empty file"),
        "garbage": (np.random.default_rng(0).bytes(3000), False, "could not be read"),
        "html as a picture": (b"<b>x</b><script>alert(1)</script>", False, "could not be read"),
        "text file": (b"name,value\nx,1\n", False, "could not be read"),
        "truncated PNG": (good[: len(good) // 2], False, "could not be read"),
        "PNG header only": (good[:33], False, "could not be read"),
        "truncated JPEG": (_jpeg((64, 64))[:300], False, "could not be read"),
        "PNG claiming width 0 (bad CRC)": (good[:16] + b"\0" * 4 + good[20:], False, "could not be read"),
        "over the limit (5000×5000 PNG)": (_png("1", (5000, 5000)), False, "too large"),
        "bomb (400 Mpixels)": (_bomb(), False, "too large"),
        "valid PNG": (good, True, ""),
        "16-bit PNG": (grey16.getvalue(), True, ""),
        "JPEG over the limit, drafted down": (_jpeg((4200, 4200)), True, ""),
        "palette GIF": (_gif(), True, ""),
    }


def _gif():
    buf = io.BytesIO()
    Image.new("P", (20, 20), 3).save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(k for k, cls in PANELS.items() if issubclass(cls, al.widgets.UploadPanel)))
def test_fuzz_uploads(name, failures):
    panel = _panel(name)
    panel.use_upload.value = False
    for what, (content, accepted, words) in _uploads().items():
        CASES["upload"] += 1
        before_png, before_state = panel.image.value, panel.state
        panel.message.value = ""
        panel.upload.value = upload_value(content, "x.png")
        assert not failures.records, (what, failures.text)
        if accepted:
            assert panel.message.value == "" and panel.use_upload.value and panel.state is not before_state, what
            assert panel.state.source == "your image", what
            panel.use_upload.value = False
        else:
            text = _escaped(panel.message.value)
            assert words in text and panel.image.value == before_png and panel.state is before_state, (what, text)
            assert not panel.use_upload.value, what
    # other values in the shape ipywidgets gives (other shapes make its own serializer raise a
    # KeyError before any panel code runs; a browser cannot send them)
    shaped = [upload_value(b"abc") for _ in range(3)]
    shaped[0][0]["content"], shaped[1][0]["content"], shaped[2][0]["content"] = None, "<b>x</b>", 3
    for value in [(), [], None, "abc", 3, *shaped]:
        CASES["upload"] += 1
        before_png, before_state = panel.image.value, panel.state
        panel.message.value = ""
        try:
            panel.upload.value = value
        except TraitError:
            assert not panel.message.value
        assert panel.image.value == before_png and panel.state is before_state and not failures.records, value
        if panel.message.value:
            _escaped(panel.message.value)


@given(st.binary(max_size=400))
@settings(max_examples=30, deadline=None, derandomize=True, database=None)
def test_fuzz_upload_bytes_with_hypothesis(data):
    """Random bytes, and random bytes after a PNG signature, through the panel's upload path."""
    panel = _panel("TextureLab")
    for content in (data, b"\x89PNG\r\n\x1a\n" + data):
        CASES["upload"] += 1
        before_png, before_state = panel.image.value, panel.state
        panel.message.value = ""
        panel.upload.value = upload_value(content, "x.png")
        if panel.message.value:  # load_image's messages all start with "image"
            assert _escaped(panel.message.value).startswith("image ")
            assert panel.image.value == before_png and panel.state is before_state
        else:  # random bytes that happen to be a picture
            assert panel.state.source == "your image"
            panel.use_upload.value = False
