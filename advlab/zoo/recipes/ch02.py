"""Chapter 2, maps under attack: CAM vs attention pooling vs ProtoPNet (the seminar study).

The CNN is chapter 3's ``cifar_resnet8``; the two others have its trunk architecture (ResNet-8,
width 16: the same layers, trained separately, not shared weights), data, augmentation, optimiser
and epochs. Each head is trained with three seeds (0, the chapter's models, and 1 and 2, named
``..._seed1`` / ``..._seed2``), so the ranking of the heads can be judged against the spread
between training runs of one head.
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


#: the heads' seeds beyond seed 0: the ranking is judged over three training runs per head
SEEDS = (1, 2)
HEADS = ("cifar_resnet8", "cifar_attention_pool", "cifar_protopnet")


def _seeded(name: str, recipe: dict, seed: int) -> dict:
    return dict(recipe, seed=seed, description=f"{recipe['description']}; training seed {seed} (chapter 2's "
                                                f"ranking over three seeds)")


RECIPES.update({f"{name}_seed{s}": _seeded(name, _RESNET8 if name == "cifar_resnet8" else RECIPES[name], s)
                for name in HEADS for s in SEEDS})
