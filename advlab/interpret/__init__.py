"""Interpreters: bind a model, then call ``attr(x, target) -> maps`` (N×H×W).

Gradient maps come from captum (chapter 1); the CAM family is written here because the
book teaches it (chapter 2), and is tested against captum / pytorch-grad-cam.
``REGISTRY`` maps each name to its class; ``attr(x, target, differentiable=True)`` keeps
the maps on the autograd graph for the interpreters that allow it (chapter 4).
Layer and channel scopes (chapters 6 and 8) have their own registry, ``LAYER_REGISTRY``
(``advlab.interpret.layers``): ``make_layer(name, model, layer=...)(x, target) -> N×K``.
Chapter 8's attack pathways (``advlab.interpret.pathways``, after Bluff): ``pathways(model, benign,
target, adversarial) -> Pathway`` and the drill-down on one channel.
Chapter 6's promotion and suppression (``advlab.interpret.promotion``, after Xu et al.):
``promotion_suppression(model, x, x_adv, y, target) -> PSE``, per image and per channel.
Chapter 6's network dissection (``advlab.interpret.dissection``, after Bau et al. 2017):
``concept_set(n, seed) -> ConceptSet`` (images with per-pixel concept masks),
``dissect(model, layer, probe) -> Dissection`` (unit × concept IoU, interpretable units) and
``unit_sensitivity(model, layer, x, x_adv)`` (how far each unit moves under an attack).
Chapter 5's perturbation-guided interpreter (``advlab.interpret.mask``, after Fong & Vedaldi 2017):
``MeaningfulPerturbation(model)(x, target) -> masks`` ("mask" in ``REGISTRY``), an optimised blur
mask (1 = the evidence whose deletion removes the class); ``init=`` a warm mask with
``differentiable=True`` gives ADV²'s look-ahead. It is an optimisation per map (``slow = True``):
the panels offer fixed lists of fast interpreters, which leave it out.
Chapter 5's model-guided interpreter ``RTS(model, explainer)`` draws the map with a trained saliency
model (the zoo's ``cifar_rts``); it needs that second model, so it is not in ``REGISTRY``.
"""
from ..core import checks
from ..core.maps import normalize, reduce_channels
from ..core.probe import resolve_layer
from .base import Interpreter
from .cam import CAM, BaseCAM, GradCAM, GradCAMPlusPlus, RandomMap, ScoreCAM
from .dissection import ConceptSet, Dissection, concept_set, dissect, unit_sensitivity
from .gradients import IntegratedGradients, Saliency, SmoothGrad
from .layers import (
    LAYER_REGISTRY,
    InternalInfluence,
    LayerActivation,
    LayerAttribution,
    LayerConductance,
    LayerGradientXActivation,
    NeuronConductance,
    make_layer,
)
from .mask import MeaningfulPerturbation
from .own import AttentionMap, PrototypeMap
from .pathways import (
    Pathway,
    channel_response,
    pathway_edges,
    pathway_layers,
    pathways,
    top_patches,
    visualize_channel,
)
from .predicted import PrototypeRegion, predict_and_map, prototype_region, top_prototypes
from .promotion import PSE, promotion_suppression, pse_type
from .promotion import TYPES as PSE_TYPES
from .rts import RTS

REGISTRY = {cls.name: cls for cls in (Saliency, SmoothGrad, IntegratedGradients, CAM, GradCAM,
                                      GradCAMPlusPlus, ScoreCAM, RandomMap, AttentionMap, PrototypeMap,
                                      MeaningfulPerturbation)}


def make(name: str, model, **kwargs) -> Interpreter:
    """Build the interpreter called ``name`` (a key of ``REGISTRY``) on ``model``."""
    checks.choice(name, "interpreter", REGISTRY)
    return REGISTRY[name](model, **kwargs)


__all__ = ["Interpreter", "BaseCAM", "CAM", "GradCAM", "GradCAMPlusPlus", "ScoreCAM", "RandomMap",
           "Saliency", "SmoothGrad", "AttentionMap", "PrototypeMap", "IntegratedGradients",
           "MeaningfulPerturbation", "REGISTRY", "make",
           "normalize",
           "reduce_channels", "resolve_layer", "predict_and_map", "top_prototypes", "prototype_region",
           "PrototypeRegion",
           "LayerAttribution", "LayerActivation", "LayerGradientXActivation", "LayerConductance",
           "InternalInfluence", "NeuronConductance", "LAYER_REGISTRY", "make_layer",
           "PSE", "PSE_TYPES", "promotion_suppression", "pse_type",
           "Pathway", "pathways", "pathway_edges", "pathway_layers", "channel_response", "top_patches",
           "visualize_channel",
           "ConceptSet", "Dissection", "concept_set", "dissect", "unit_sensitivity", "RTS"]
