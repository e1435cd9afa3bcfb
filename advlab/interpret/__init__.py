"""Interpreters: bind a model, then call ``attr(x, target) -> maps`` (N×H×W).

Gradient maps come from captum; the CAM family is written here because the
book teaches it, and is tested against captum / pytorch-grad-cam.
``REGISTRY`` maps each name to its class.
"""
from ..core import checks
from ..core.maps import normalize, reduce_channels
from ..core.probe import resolve_layer
from .base import Interpreter
from .cam import CAM, BaseCAM, GradCAM, GradCAMPlusPlus, RandomMap, ScoreCAM
from .gradients import IntegratedGradients, Saliency, SmoothGrad
from .own import AttentionMap, PrototypeMap
from .predicted import predict_and_map, top_prototypes

REGISTRY = {cls.name: cls for cls in (Saliency, SmoothGrad, IntegratedGradients, CAM, GradCAM,
                                      GradCAMPlusPlus, ScoreCAM, RandomMap, AttentionMap, PrototypeMap)}


def make(name: str, model, **kwargs) -> Interpreter:
    """Build the interpreter called ``name`` (a key of ``REGISTRY``) on ``model``."""
    checks.choice(name, "interpreter", REGISTRY)
    return REGISTRY[name](model, **kwargs)


__all__ = ["Interpreter", "BaseCAM", "CAM", "GradCAM", "GradCAMPlusPlus", "ScoreCAM", "RandomMap",
           "Saliency", "SmoothGrad", "AttentionMap", "PrototypeMap", "IntegratedGradients", "REGISTRY", "make", "normalize",
           "reduce_channels", "resolve_layer", "predict_and_map", "top_prototypes"]
