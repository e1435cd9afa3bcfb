"""The neutral core every family builds on: input checks, model modes, chunked batching,
the layer probe and map utilities. It imports no other part of advlab."""
from . import checks
from .batching import chunks
from .checks import model_labels
from .maps import as_maps, normalize, reduce_channels, topk_mask, upsample
from .modes import frozen_eval, n_classes
from .probe import LayerProbe, activations, layer_names, resolve_layer

__all__ = ["checks", "chunks", "model_labels", "as_maps", "normalize", "reduce_channels", "topk_mask",
           "upsample", "frozen_eval", "n_classes", "LayerProbe", "activations", "layer_names",
           "resolve_layer"]
