"""Chapter 2, maps under attack: CAM vs attention pooling vs ProtoPNet (the seminar study).

The CNN is chapter 3's ``cifar_resnet8``; the two others share its trunk (ResNet-8, width 16), data,
augmentation, optimiser and epochs.
"""
from .ch03 import RECIPES as _CH03

_RESNET8 = _CH03["cifar_resnet8"]

RECIPES = {
    "cifar_attention_pool": dict(
        _RESNET8,
        description="ResNet-8 trunk with attentional pooling (Girdhar & Ramanan 2017: class-agnostic "
                    "bottom-up and class-specific top-down attention, rank-1 bilinear pooling), standard training",
        arch="attention_pool", arch_kwargs={"depth": 8, "width": 16}),
    "cifar_protopnet": dict(
        _RESNET8,
        description="ResNet-8 trunk with a ProtoPNet head (Chen et al. 2019: 5 prototypes per class in a "
                    "32-d latent space; cross-entropy + 0.8 cluster - 0.08 separation, trained jointly from "
                    "scratch; then push onto the nearest training patches and 20 epochs of last-layer "
                    "fine-tuning with L1 1e-4)",
        objective="protopnet",
        arch="protopnet", arch_kwargs={"depth": 8, "width": 16, "prototypes_per_class": 5, "proto_dim": 32},
        finalize={"last_layer_epochs": 20}),
}
