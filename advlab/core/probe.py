"""The layer probe: activations (and their gradients) of named layers, through forward hooks
that are always removed.

CAM and its relatives, style transfer, layer attributions and every later chapter read
intermediate layers through this one mechanism::

    with LayerProbe(model, ["features"]) as probe:
        logits = model(x)
    A = probe["features"]                       # N×K×h×w, still attached to the graph
    (dA,) = probe.gradients(logits[:, 3].sum())  # ∂score/∂A for each probed layer

``stop_at`` ends a forward pass early (style transfer needs only the first blocks; CAM only the
feature maps); ``replace`` substitutes a layer's output (attribution from an intermediate layer,
activation patching).
"""
from __future__ import annotations

import torch

from . import checks


def layer_names(model: torch.nn.Module) -> list[str]:
    """Dotted names of every submodule of ``model`` (what ``layer=`` arguments accept)."""
    return [n for n, _ in model.named_modules() if n]


def resolve_layer(model: torch.nn.Module, layer) -> torch.nn.Module:
    """``layer`` as a module: ``None`` means ``model.features``; a string is a submodule path."""
    if isinstance(layer, torch.nn.Module):
        return layer
    if layer is None:
        layer = "features"
    names = layer_names(model)
    if not isinstance(layer, str) or layer not in names:
        raise ValueError(f"layer {layer!r} is not a submodule of the model; accepted values: "
                         f"{', '.join(names[:40])}{' ...' if len(names) > 40 else ''}")
    return model.get_submodule(layer)


class LayerProbe:
    """Context manager recording the outputs of ``layers`` (names or modules) of ``model``.

    Inside the block every forward pass stores each layer's output under its key (the name
    given, or the module's own name for a module); ``probe[key]`` reads it. Outputs stay on the
    autograd graph unless ``detach=True``. Hooks are removed on leaving the block, whatever
    happens. ``stop_at`` (a key, or ``True`` for "once every probed layer has produced its
    output") raises an internal signal after that output is stored, so a forward pass can end
    early (``probe.run(x)`` catches it). ``replace`` maps layers (names or modules, probed too)
    to tensors used *instead of* their outputs in every forward pass, e.g. scaled activations
    fed to the rest of the network; the stored output is the replacement."""

    class _Stop(Exception):
        pass

    def __init__(self, model: torch.nn.Module, layers, detach: bool = False, stop_at=None,
                 replace: dict | None = None):
        self.model = checks.model(model)
        if isinstance(layers, (str, torch.nn.Module)) or layers is None:
            layers = [layers]
        self.modules: dict = {}
        for layer in layers:
            self.modules[self._key(layer)] = resolve_layer(model, layer)
        self.replace: dict = {}
        for layer, value in (replace or {}).items():
            key = self._key(layer)
            self.modules.setdefault(key, resolve_layer(model, layer))
            self.replace[key] = value
        self.detach = detach
        self.stop_at = stop_at
        self.outputs: dict = {}
        self._handles: list = []

    def _key(self, layer):
        if isinstance(layer, str):
            return layer
        return "features" if layer is None else self._name_of(resolve_layer(self.model, layer))

    def _name_of(self, module):
        for n, m in self.model.named_modules():
            if m is module:
                return n
        raise ValueError("layer module is not part of the model")

    def __enter__(self) -> LayerProbe:
        for key, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._hook(key)))
        return self

    def _hook(self, key):
        def hook(_module, _inputs, output):
            output = self.replace.get(key, output)
            self.outputs[key] = output.detach() if self.detach else output
            if self.stop_at == key or (self.stop_at is True and len(self.outputs) == len(self.modules)):
                raise LayerProbe._Stop
            return output if key in self.replace else None
        return hook

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def run(self, x: torch.Tensor):
        """Forward ``x`` through the model; returns its output, or ``None`` when stopped early.
        Outputs of an earlier pass are forgotten first."""
        checks.images(x.detach() if isinstance(x, torch.Tensor) else x)
        checks.model_input(self.model, x, size=False)  # features of any image size may be read
        self.outputs.clear()
        try:
            return self.model(x)
        except LayerProbe._Stop:
            return None

    def __getitem__(self, key) -> torch.Tensor:
        if key not in self.outputs:
            raise KeyError(f"layer {key!r} has produced no output yet (probed: {', '.join(map(str, self.modules))})")
        return self.outputs[key]

    def gradients(self, score: torch.Tensor, create_graph: bool = False) -> tuple:
        """∂``score``/∂(each probed output), in the order the layers were given."""
        outs = [self[k] for k in self.modules]
        return torch.autograd.grad(score, outs, create_graph=create_graph)


def activations(model: torch.nn.Module, x: torch.Tensor, layers) -> dict:
    """Outputs of ``layers`` for images ``x`` (detached), one forward pass, hooks removed."""
    checks.images(x)
    checks.model_input(checks.model(model), x, size=False)
    with torch.no_grad(), LayerProbe(model, layers, detach=True) as probe:
        probe.run(x)
    return dict(probe.outputs)
