"""The controls panels share, made once here: image index, attack, ε (slider and text box),
steps, and the upload pair; and ``Range``, the one rule for numbers a panel accepts.

A number outside its range is refused with the same sentence everywhere, naming the argument,
the accepted range and what came: ``eps must be a number or a fraction like 8/255 in
[0/255, 32/255], got 1.0``. Constructors raise it (``ValueError``); controls show it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

STYLE = {"description_width": "initial"}
MAX_STEPS = 40


def eps_label(eps: float, rgb: bool) -> str:
    """ε as the book writes it: ``8/255`` for RGB images, ``0.20`` for grey ones."""
    if not math.isfinite(eps):
        return str(eps)
    return f"{round(eps * 255)}/255" if rgb else f"{eps:.2f}"


def short_repr(value, most: int = 80) -> str:
    """``repr(value)``, cut in the middle past ``most`` characters (a pasted page stays one line)."""
    if isinstance(value, int) and abs(value) >= 10**most:  # repr fails past 4300 digits
        return f"an integer of about {int(abs(value).bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= most else f"{text[:most // 2]}…{text[-most // 4:]}"


def _fraction(text: str) -> float | None:
    """``"8/255"``, ``"0.03"`` or ``"3e-2"`` as a float, else ``None``. Each side is parsed with
    ``float`` (``Fraction("1e10000000")`` would build a ten-million-digit integer: 8 s for one
    keystroke, and ``"1e400"`` overflowed), so any text a user types is answered at once."""
    parts = text.strip().replace(" ", "").split("/")
    if len(text) > 200 or len(parts) > 2:
        return None
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return None
    if len(nums) == 1:
        return nums[0]
    return nums[0] / nums[1] if nums[1] != 0 and all(map(math.isfinite, nums)) else None


@dataclass(frozen=True)
class Range:
    """Accepted values ``lo <= v <= hi`` (integers only with ``integer``; strings such as
    ``"8/255"`` too with ``fraction``), shown with ``fmt``. Whether a value is a number at all is
    decided by :mod:`advlab.core.checks` (``checks.number``, or ``via`` such as ``checks.seed``):
    NumPy and 0-d tensor scalars are numbers; booleans, NaN, ±inf and other strings are not."""
    lo: float
    hi: float
    integer: bool = False
    fraction: bool = False
    fmt: Callable = "{:g}".format
    via: Callable | None = None   # a checks function ``(value, name) -> value`` run before the range

    def __str__(self):
        return f"[{self.fmt(self.lo)}, {self.fmt(self.hi)}]"

    def check(self, value, name: str):
        """``value`` as an int or float if it is in the range, else a ``ValueError``."""
        from ..core import checks
        v = _fraction(value) if self.fraction and isinstance(value, str) else value
        try:
            if self.via is not None:
                v = self.via(v, name)
            return checks.number(v, name, self.lo, self.hi, integer=self.integer)
        except (ValueError, OverflowError):  # OverflowError: an int too large for a float (10**400)
            kind = ("an integer" if self.integer else
                    "a number or a fraction like 8/255" if self.fraction else "a number")
            raise ValueError(f"{name} must be {kind} in {self}, got {short_repr(value)}") from None


def eps_range(rgb: bool, hi: float | None = None) -> Range:
    """The ε a panel offers: up to 32/255 on RGB images, 0.5 on grey ones (MNIST), or up to ``hi``."""
    return Range(0.0, hi if hi is not None else 32 / 255 if rgb else 0.5, fraction=True,
                 fmt=lambda v: eps_label(v, rgb))


def check_models(models, most: int) -> dict:
    """``models`` as a dict name → model of 1 to ``most`` entries, else a ``ValueError``."""
    from ..core import checks
    if not isinstance(models, dict) or not 1 <= len(models) <= most:
        got = f"a dict of {len(models)}" if isinstance(models, dict) else type(models).__name__
        raise ValueError(f"models must be a dict of 1 to {most} named models, got {got}")
    return {str(k): checks.model(m, f"models[{k!r}]") for k, m in models.items()}


def index_slider(n: int):
    import ipywidgets as W
    return W.IntSlider(0, 0, n - 1, description="image", style=STYLE)


def attack_dropdown(value: str):
    import ipywidgets as W

    from .. import attacks
    return W.Dropdown(options=list(attacks.REGISTRY), value=value, description="attack")


def steps_slider(value: int):
    import ipywidgets as W
    return W.IntSlider(value, 1, MAX_STEPS, description="steps")


def snap_eps(eps: float, rgb: bool) -> float:
    """ε on the slider's grid (1/255 on RGB images, 0.01 on grey ones), as the browser's slider would
    put it: typed values land where the slider can show them, so one change renders once."""
    return round(eps * 255) / 255 if rgb else round(round(eps / 0.01) * 0.01, 10)


def eps_controls(value: float, rgb: bool, on_error: Callable, on_same: Callable, hi: float | None = None):
    """The ε slider and its text box, kept in step: moving the slider rewrites the text; typing
    ``8/255`` (or ``0.03``) moves the slider, so one change renders once (observe the slider
    only). A typed value is snapped to the slider's grid first (:func:`snap_eps`; the browser's
    slider would snap it and send it back, a second render), and the text box then shows the value
    used. A typed value the slider cannot take goes to ``on_error(err)`` and the text box goes back
    to the slider's value, so text and picture never disagree; the slider's own value typed again
    calls ``on_same()`` (e.g. to render again and clear a message). ``hi``: the largest ε offered
    (default :func:`eps_range`'s)."""
    import ipywidgets as W
    accepted = eps_range(rgb, hi)
    slider = W.FloatSlider(value=value, min=0, max=accepted.hi, step=1 / 255 if rgb else 0.01, description="ε",
                           readout_format=".3f", style=STYLE)
    text = W.Text(value=eps_label(value, rgb), description="ε =", continuous_update=False,
                  layout=W.Layout(width="150px"))
    syncing = [False]

    def show(eps):
        syncing[0] = True
        try:
            text.value = eps_label(eps, rgb)
        finally:
            syncing[0] = False

    def to_text(change):
        show(change["new"])

    def to_slider(change):
        if syncing[0]:
            return
        try:
            eps = accepted.check(change["new"], "ε")
            eps = accepted.check(snap_eps(eps, rgb), "ε")
        except Exception as err:  # a callback: whatever the text, a message, never a traceback
            on_error(err)
            show(slider.value)
            return
        if eps == slider.value:
            show(eps)
            on_same()
        else:
            slider.value = eps

    slider.observe(to_text, names="value")
    text.observe(to_slider, names="value")
    return slider, text


def upload_controls(on_content: Callable, on_error: Callable):
    """A FileUpload for one picture and the "use your image" checkbox; each new upload's bytes
    go to ``on_content(bytes)``, an upload without readable content to ``on_error(err)``."""
    import ipywidgets as W
    upload = W.FileUpload(accept="image/*", multiple=False, description="your image")
    use = W.Checkbox(False, description="use your image", indent=False)

    def changed(change):
        files = change["new"]
        if not files:
            return
        try:
            first = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
            content = bytes(first["content"])
        except (KeyError, TypeError, IndexError, StopIteration, AttributeError) as err:
            on_error(ValueError(f"the upload holds no file content ({type(err).__name__}: {err})"))
            return
        on_content(content)

    upload.observe(changed, names="value")
    return upload, use


def upload_value(content: bytes, name: str = "image.png") -> tuple:
    """What ``FileUpload.value`` holds after the user picked one file (ipywidgets 8): for
    tests, benchmarks and static pages that drive an upload without a browser."""
    import datetime
    return ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2026, 1, 1)},)
