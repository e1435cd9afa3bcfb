"""Interpreters: bind a model, then call ``attr(x, target) -> maps`` (N×H×W).

Gradient maps come from captum; the CAM family is written here because the
book teaches it, and is tested against captum / pytorch-grad-cam.
``REGISTRY`` maps each name to its class.
"""
from .. import _validate
from .base import Interpreter, normalize, reduce_channels
from .cam import CAM, BaseCAM, GradCAM, GradCAMPlusPlus, RandomMap, ScoreCAM, resolve_layer
from .gradients import IntegratedGradients, Saliency, SmoothGrad
from .own import AttentionMap, PrototypeMap

REGISTRY = {cls.name: cls for cls in (Saliency, SmoothGrad, IntegratedGradients, CAM, GradCAM,
                                      GradCAMPlusPlus, ScoreCAM, RandomMap, AttentionMap, PrototypeMap)}


def make(name: str, model, **kwargs) -> Interpreter:
    """Build the interpreter called ``name`` (a key of ``REGISTRY``) on ``model``."""
    _validate.choice(name, "interpreter", REGISTRY)
    return REGISTRY[name](model, **kwargs)


__all__ = ["Interpreter", "BaseCAM", "CAM", "GradCAM", "GradCAMPlusPlus", "ScoreCAM", "RandomMap",
           "Saliency", "SmoothGrad", "AttentionMap", "PrototypeMap", "IntegratedGradients", "REGISTRY", "make", "normalize",
           "reduce_channels", "resolve_layer"]
