"""Layer and channel scopes (chapters 6 and 8), computed by captum: what each *channel* of a
hidden layer contributes, rather than each pixel.

Bind a model and a layer (a name such as ``"features.4"``, a module, or a list of them), then call
``attr(x, target)``: N×K per layer (a dict by layer name when several were given), each channel's
attribution summed over spatial positions.

* ``layer_activation``: the channel's activation, Σ_ij A_kij (captum ``LayerActivation``).
* ``layer_gradient_x_activation``: Σ_ij A_kij ∂y_c/∂A_kij, promotion (> 0) or suppression (< 0)
  of class c by channel k to first order (``LayerGradientXActivation``; Xu et al., chapter 6).
* ``layer_conductance``: the flow through channel k of the integrated gradients from a black
  image to x (``LayerConductance``); over all channels of a layer that every path crosses it sums
  to y_c(x) − y_c(black).
* ``internal_influence``: ∂y_c/∂A_k integrated along the same path, without the activation
  factor (``InternalInfluence``).

``neuron_conductance`` is the edge of an attribution graph (Bluff-style, chapter 8): bind
``layer`` and the layer feeding it (``source``, by default the previous module of a
``Sequential``), call ``attr(x, channel)``: N×K_prev, the conductance of each channel of
``source`` to the total activation Σ_ij A_channel,ij of ``layer``, through captum's
``NeuronConductance`` on the sub-network from ``source`` to that total (zero activations as the
baseline). It sums to the channel's total at x minus its total when ``source`` outputs zeros.

All of them run with the model in eval mode and its parameters frozen, remove every hook, and
return detached tensors.

>>> attr = al.interpret.make_layer("layer_conductance", model, layer="features.4")
>>> per_channel = attr(x, y)                                   # N×K
"""
from __future__ import annotations

import torch

from ..core import checks, chunks, frozen_eval, model_labels
from ..core.probe import LayerProbe, layer_names


def _over_positions(a: torch.Tensor) -> torch.Tensor:
    return a.sum(dim=tuple(range(2, a.dim()))) if a.dim() > 2 else a


class LayerAttribution:
    """Base: bind ``model`` and ``layer`` (one or a list), ``attr(x, target) -> N×K``."""

    name = "layer"
    scope = "layer"
    captum = ""          # the captum class that computes it
    integrated = False   # integrates from a baseline (``n_steps``, ``baseline``)
    uses_target = True
    baseline_range = (0.0, 1.0)  # a grey level of the input image

    def __init__(self, model, layer=None, n_steps: int = 50, baseline: float = 0.0):
        self.model = checks.model(model)
        self.many = isinstance(layer, (list, tuple))
        self.layers = LayerProbe(model, list(layer) if self.many else [layer]).modules  # validates names
        self.n_steps = checks.number(n_steps, "n_steps", 1, 10_000, integer=True)
        self.baseline = checks.number(baseline, "baseline", *self.baseline_range)

    def attribute(self, x: torch.Tensor, target=None, batch_size: int | None = None):
        """Per-channel attributions of ``x`` for classes ``target`` (ignored by
        ``layer_activation``): N×K, or a dict ``{layer: N×K}`` for several layers."""
        checks.images(x, model=self.model)
        with frozen_eval(self.model):
            target = None if target is None else model_labels(self.model, target, x, "target")
            if target is None and self.uses_target:
                raise ValueError(f"target (class indices) is required by {self.name!r}, got None")
            if batch_size is not None:
                batch_size = checks.number(batch_size, "batch_size", 1, 10**9, integer=True)
            out = {key: torch.cat([self._one(module, x[i].detach().clone().requires_grad_(True),
                                             None if target is None else target[i])
                                   for i in chunks(len(x), batch_size)]).detach()
                   for key, module in self.layers.items()}
        return out if self.many else next(iter(out.values()))

    __call__ = attribute

    def _one(self, module, x, target):
        import captum.attr
        method = getattr(captum.attr, self.captum)(self.model, module)
        kwargs = {"target": target} if self.uses_target else {}
        if self.integrated:
            kwargs.update(baselines=torch.full_like(x, self.baseline), n_steps=self.n_steps)
        return _over_positions(method.attribute(x, **kwargs))

    def __repr__(self):
        return f"{type(self).__name__}(layer={', '.join(self.layers)})"


class LayerActivation(LayerAttribution):
    """Each channel's activation summed over positions (chapter 6: network dissection)."""
    name, captum, uses_target = "layer_activation", "LayerActivation", False


class LayerGradientXActivation(LayerAttribution):
    """Σ_ij A ∂y_c/∂A per channel: promotion or suppression of class c (chapter 6)."""
    name, captum = "layer_gradient_x_activation", "LayerGradientXActivation"


class LayerConductance(LayerAttribution):
    """Conductance of each channel from a black image to x (chapter 6)."""
    name, captum, integrated = "layer_conductance", "LayerConductance", True


class InternalInfluence(LayerAttribution):
    """Gradients at each channel integrated from a black image to x (chapter 6)."""
    name, captum, integrated = "internal_influence", "InternalInfluence", True


class NeuronConductance(LayerAttribution):
    """Conductance of the channels of ``source`` to one channel of ``layer`` (chapter 8).

    >>> edges = NeuronConductance(model, "features.4")(x, channel=3)   # N×K_prev
    """
    name, captum, scope, integrated = "neuron_conductance", "NeuronConductance", "neuron", True
    baseline_range = (-1e6, 1e6)  # an activation value of ``source`` (0: the channel is off)

    def __init__(self, model, layer, source=None, n_steps: int = 50, baseline: float = 0.0):
        if isinstance(layer, (list, tuple)):
            raise ValueError(f"layer must be one layer for {self.name!r}, got a list: {layer!r}")
        super().__init__(model, layer, n_steps, baseline)
        (self.key,) = self.layers
        source = _previous(model, self.key) if source is None else source
        self.source = LayerProbe(model, [source]).modules
        (self.source_key,) = self.source
        self._total = torch.nn.Identity()  # the "neuron": the channel's total, hooked by captum

    def attribute(self, x: torch.Tensor, channel: int, batch_size: int | None = None) -> torch.Tensor:  # type: ignore[override]
        """N×K_prev: conductance of each channel of ``source`` to channel ``channel`` of ``layer``."""
        checks.images(x, model=self.model)
        with frozen_eval(self.model):
            if batch_size is not None:
                batch_size = checks.number(batch_size, "batch_size", 1, 10**9, integer=True)
            with torch.no_grad(), LayerProbe(self.model, [self.source_key, self.key], detach=True,
                                             stop_at=self.key) as probe:
                probe.run(x)
            if self.source_key not in probe.outputs:
                raise ValueError(f"source {self.source_key!r} must run before layer {self.key!r} "
                                 "in the forward pass")
            k = probe[self.key].shape[1]
            channel = checks.number(channel, "channel", 0, k - 1, integer=True)
            out = torch.cat([self._neuron(probe[self.source_key][i], x[i], channel)
                             for i in chunks(len(x), batch_size)])
        return out.detach()

    __call__ = attribute  # type: ignore[assignment]

    def forward_from_source(self, a: torch.Tensor, x: torch.Tensor, channel: int) -> torch.Tensor:
        """The channel's total activation (N×1) when ``source`` outputs ``a`` for images ``x``."""
        with LayerProbe(self.model, [self.key], stop_at=self.key, replace={self.source_key: a.clone()}) as probe:
            probe.run(x)
        return self._total(_over_positions(probe[self.key][:, channel:channel + 1]))

    def _neuron(self, a, x, channel):
        from captum.attr import NeuronConductance as _NeuronConductance
        method = _NeuronConductance(lambda a_, x_: self.forward_from_source(a_, x_, channel), self._total)
        attr = method.attribute(a, neuron_selector=0, baselines=torch.full_like(a, self.baseline), target=0,
                                additional_forward_args=(x,), n_steps=self.n_steps, method="gausslegendre")
        return _over_positions(attr)

    def __repr__(self):
        return f"{type(self).__name__}(layer={self.key}, source={self.source_key})"


def _previous(model, name: str) -> str:
    """The module before ``name`` in its parent ``Sequential`` (the layer that feeds it)."""
    parent, _, index = name.rpartition(".")
    container = model.get_submodule(parent) if parent else model
    if isinstance(container, torch.nn.Sequential) and index.isdigit() and int(index) > 0:
        return f"{parent}.{int(index) - 1}" if parent else str(int(index) - 1)
    raise ValueError(f"source: layer {name!r} has no previous module in a Sequential; name the layer "
                     f"that feeds it, one of {', '.join(layer_names(model)[:40])}")


LAYER_REGISTRY = {cls.name: cls for cls in (LayerActivation, LayerGradientXActivation, LayerConductance,
                                            InternalInfluence, NeuronConductance)}


def make_layer(name: str, model, layer=None, **kwargs) -> LayerAttribution:
    """Build the layer-scope attribution ``name`` (a key of ``LAYER_REGISTRY``) on ``model``'s ``layer``."""
    checks.choice(name, "layer attribution", LAYER_REGISTRY)
    return LAYER_REGISTRY[name](model, layer, **kwargs)
