"""Architectures of the model zoo.

Every model takes images in pixel space, [0, 1], N×C×H×W, and returns logits (its
``input_shape`` says which C, H, W; ``None`` for any size):
normalisation is the first layer *inside* the model, so attacks and maps never
have to know about dataset means and standard deviations.

CAM-ready models expose two attributes used by the CAM family:
``features`` (the last convolutional block, whose output is the feature map)
and ``fc`` (the linear layer after global average pooling).

Chapter 5: ``SaliencyNet`` is an explainer, not a classifier (``forward(x, cls)`` returns masks);
``smooth_relu(model, beta)`` copies a model with Softplus in place of its ReLUs.
Chapter 7: ``LayeredCNN`` (the TRADES code's MNIST CNN, stages named ``conv1`` … ``fc3``) and
``ExplanationGenerator`` (InterpretGAN's x̂ = G(C(h_l(x))) for one of its layers).
"""
from __future__ import annotations

from torch import nn

from ..core import checks
from .cnn import GapCNN, MadryCNN, SmallGapCNN
from .fold import fold_batchnorm
from .interpretgan import LAYERS as LAYERED_CNN_LAYERS
from .interpretgan import ExplanationGenerator, LayeredCNN
from .layers import POOLS, Normalize
from .masking import mask_units
from .protopnet import ProtoPNet
from .resnet import AttentionPoolNet, BasicBlock, ResNet, TrunkNet, resnet_trunk
from .saliency import SaliencyNet
from .smooth import smooth_relu

ARCHITECTURES = {"madry_cnn": MadryCNN, "gap_cnn": GapCNN, "small_gap_cnn": SmallGapCNN, "resnet": ResNet,
                 "attention_pool": AttentionPoolNet, "protopnet": ProtoPNet,
                 "saliency_net": SaliencyNet, "layered_cnn": LayeredCNN,
                 "explanation_generator": ExplanationGenerator}


def build(arch: str, **kwargs) -> nn.Module:
    """Build an untrained architecture by name (see ``ARCHITECTURES``)."""
    checks.choice(arch, "architecture", ARCHITECTURES)
    return ARCHITECTURES[arch](**kwargs)


__all__ = ["ARCHITECTURES", "build", "fold_batchnorm", "mask_units",
           "POOLS", "Normalize", "MadryCNN", "GapCNN", "SmallGapCNN",
           "ResNet",
           "TrunkNet", "BasicBlock", "resnet_trunk", "AttentionPoolNet", "ProtoPNet",
           "SaliencyNet", "smooth_relu", "LayeredCNN", "ExplanationGenerator", "LAYERED_CNN_LAYERS"]
