"""Input checks used at the API edge.

Every public entry point (attacks, interpreters, metrics, the zoo, widgets)
calls these so that bad input fails early with a ``ValueError`` that names the
argument and says what is accepted.
"""
from __future__ import annotations

import math

import numpy as np
import torch

_FLOATS = (torch.float32, torch.float64)


def _range(lo: float, hi: float) -> str:
    """``[lo, hi]`` with enough digits that an overshoot of 1e-6 past [0, 1] shows."""
    fmt = lambda v: f"{v:.3g}" if 0.0 <= v <= 1.0 else repr(v)
    return f"[{fmt(lo)}, {fmt(hi)}]"


def images(x, name: str = "x", model: torch.nn.Module | None = None) -> torch.Tensor:
    """Check a batch of images: float32/float64 tensor N×C×H×W, finite, in [0, 1]; with ``model``,
    also that it is what the model takes (:func:`model_input`)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape N×C×H×W, got {type(x).__name__}")
    if x.dim() != 4:
        hint = f"; add a batch dimension with {name}.unsqueeze(0)" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have shape N×C×H×W (4 dimensions), got shape {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}"
                         + ("; convert with x.float() / 255" if x.dtype == torch.uint8 else ""))
    if x.dtype not in _FLOATS:
        raise ValueError(f"{name} must have dtype torch.float32 or torch.float64, got {x.dtype}: in half "
                         f"precision pixels cannot be placed exactly (an ε-ball's border rounds outward); "
                         f"convert with {name}.float()")
    if x.device.type == "meta":
        raise ValueError(f"{name} is on the 'meta' device (shape only, no values); give real pixels")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must hold pixels in [0, 1] (advlab models normalise internally), "
            f"got values in {_range(lo, hi)}"
        )
    if model is not None:
        model_input(model, x, name)
    return x


def model_input(model: torch.nn.Module, x: torch.Tensor, name: str = "x", size: bool = True) -> torch.Tensor:
    """Check that images ``x`` are what ``model`` takes: its parameters' dtype and device, and
    its ``input_shape`` (C, H, W; ``None`` for any size) when the model declares one (every advlab
    architecture does; :func:`advlab.zoo.load` sets the full shape of the model's dataset).
    ``size=False`` checks the channels only: a layer probe reading convolutional features takes
    images of any size (style transfer's 64-pixel textures through a CIFAR-10 network)."""
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    if param is not None:
        if x.dtype != param.dtype:
            raise ValueError(f"{name} has dtype {x.dtype} but the model's parameters are {param.dtype}; "
                             f"convert with {name}.to({str(param.dtype).replace('torch.', 'torch.')})")
        if x.device != param.device:
            raise ValueError(f"{name} is on device {x.device} but the model is on {param.device}; "
                             f"move one of them (e.g. {name}.to({str(param.device)!r}))")
    shape = getattr(model, "input_shape", None)
    if shape is not None:
        want = tuple(shape)
        got = tuple(x.shape[1:])
        if not size and len(want) == 3:
            want = (want[0], None, None)
        if len(want) != 3 or any(w is not None and w != g for w, g in zip(want, got)):
            show = "×".join("any" if w is None else str(w) for w in want)
            what = f" ({model.dataset})" if isinstance(getattr(model, "dataset", None), str) else ""
            raise ValueError(f"{name} must be N×{show} images for this model{what}, got shape {tuple(x.shape)}")
    return x


def labels(y, n: int, num_classes: int | None = None, name: str = "y") -> torch.Tensor:
    """Check class indices: integer tensor of shape (n,), each in [0, num_classes)."""
    if isinstance(y, bool) or isinstance(y, np.bool_):
        raise ValueError(f"{name} must hold integer class indices, got the boolean {y!r}")
    if isinstance(y, np.integer):
        y = int(y)
    if isinstance(y, np.ndarray):
        y = torch.from_numpy(y)
    if isinstance(y, int):
        y = torch.full((n,), y, dtype=torch.long)
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of class indices or an int, got {type(y).__name__}")
    if y.dtype in (torch.bool,) or y.is_floating_point() or y.is_complex():
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.dim() == 0:
        y = y.expand(n)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the batch, got {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or (num_classes is not None and int(y.max()) >= num_classes)):
        accepted = f"0..{num_classes - 1}" if num_classes is not None else "non-negative integers"
        raise ValueError(f"{name} holds a class index outside {accepted}: {y.tolist()}")
    return y.long()


def _show(value) -> str:
    """``repr(value)``, cut short when it is long (a 400-digit integer, a pasted paragraph)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}…({len(text)} characters)"


def _as_float(value) -> float:
    """``float(value)`` for a Python int or float; ±inf for an int too large for a float."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def parse_eps(eps, name: str = "eps") -> float:
    """Turn ``0.03``, ``8/255`` or ``"8/255"`` into a float in pixel units."""
    if isinstance(eps, str):
        text = eps.replace(" ", "")
        bad = ValueError(f"{name} must be a number or a fraction such as '8/255', got {_show(eps)}")
        if len(text) > 64 or text.count("/") > 1:
            raise bad
        try:  # float parsing, not Fraction: '1e10000000' is inf at once instead of a huge exact number
            num, _, den = text.partition("/")
            eps = float(num) / float(den) if den else float(num)
        except (ValueError, ZeroDivisionError):
            raise bad from None
    eps = _scalar(eps)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise ValueError(f"{name} must be a number in pixel units [0, 1] or a string like '8/255', got {_show(eps)}")
    eps = _as_float(eps)
    if not math.isfinite(eps):
        raise ValueError(f"{name} must be finite, got {eps}")
    return eps


def _scalar(value):
    """A Python number from ``value`` if it is one (NumPy scalar, 0-d or 1-element tensor/array
    included), else ``value`` unchanged; booleans stay booleans (and are rejected by callers)."""
    if isinstance(value, (np.generic, np.ndarray, torch.Tensor)) and getattr(value, "size", None) is not None:
        n = value.numel() if isinstance(value, torch.Tensor) else value.size
        if n == 1 and (value.ndim == 0):
            item = value.item()
            return item if isinstance(item, (bool, int, float)) else value
    return value


def number(value, name: str, lo: float, hi: float, integer: bool = False):
    """Check ``lo <= value <= hi`` (and integrality) and return the value. NumPy scalars and 0-d
    tensors are numbers; booleans and strings are not."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {_show(value)}")
    as_float = _as_float(value)
    if integer and isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {_show(value)}")
    if not math.isfinite(as_float) or not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {_show(value)}")
    return int(value) if integer else float(value)


def seed(value, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**63 - 1] (NumPy integers included; not a string, bool or float)."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer in [0, 2**63 - 1], got {value!r}")
    return number(value, name, 0, 2**63 - 1, integer=True)


def flag(value, name: str) -> bool:
    """A switch: ``True`` or ``False`` (NumPy booleans and 0-d bool tensors included; not ``0``,
    ``1``, ``"yes"`` or ``None``, which would otherwise be taken by their truth value)."""
    value = _scalar(value)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def optional_number(value, name: str, lo: float, hi: float, integer: bool = False):
    """``None``, or a number as :func:`number` checks it (e.g. an optional batch size)."""
    return None if value is None else number(value, name, lo, hi, integer)


def device(value, name: str = "device") -> torch.device | None:
    """``None`` or a device torch knows and this machine has: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, torch.device, int)):
        raise ValueError(f"{name} must be None, a string such as 'cpu' or 'cuda', or a torch.device, got {value!r}")
    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{name} must be a device such as 'cpu', 'cuda' or 'cuda:0', got {value!r}") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(dev.type, False):
        have = ", ".join(k for k, v in available.items() if v)
        raise ValueError(f"{name} {value!r} is not available on this machine; available: {have}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"{name} {value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def choice(value, name: str, accepted) -> str:
    """Check that ``value`` is one of ``accepted``."""
    accepted = list(accepted)
    try:
        known = any((isinstance(value, type(a)) or isinstance(a, type(value)))
                    and isinstance(value, bool) == isinstance(a, bool) and bool(value == a) for a in accepted)
    except (TypeError, RuntimeError, ValueError):  # e.g. a tensor or array compared with a string
        known = False
    if not known:
        listed = ", ".join(map(str, accepted)) if accepted else "none (the list is empty)"
        raise ValueError(f"unknown {name} {value!r}; accepted values: {listed}")
    return value


def model(m, name: str = "model") -> torch.nn.Module:
    """Check that ``m`` is a ``torch.nn.Module``."""
    if not isinstance(m, torch.nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module (e.g. advlab.zoo.load(...)), got {type(m).__name__}")
    return m


def model_labels(model: torch.nn.Module, y, x: torch.Tensor, name: str) -> torch.Tensor:
    """Validate class indices ``y`` for batch ``x`` against the number of classes ``model``
    outputs; returns them as a long tensor on ``x``'s device. Call inside
    :func:`advlab.core.frozen_eval`. Labels made under ``torch.inference_mode`` (e.g. by
    :func:`advlab.metrics.predict`) are copied into normal tensors, which autograd accepts."""
    from .modes import n_classes
    y = labels(y, x.shape[0], name=name)
    y = labels(y, x.shape[0], n_classes(model, x), name=name).to(x.device)
    return y.clone() if y.is_inference() else y
