"""Chapter 7, understanding and diagnosing vulnerability layer by layer (Zheng et al., InterpretGAN):
the paper's MNIST classifier (``layered_cnn``: four 3×3 convolutions and three fully connected
layers, the small CNN of the TRADES code) trained normally and adversarially, the adversarial one
also with average pooling, and one explanation generator per layer for the normal and the
adversarially trained max-pooling models.

Scaled to two CPU cores (the paper: 10 natural epochs; TRADES β = 6 with ATTA-1; a progressive GAN
per layer trained 6 + 6 + 6 + 12 epochs at 32×32):

* the natural model: 3 epochs of Adam, one-cycle schedule;
* the adversarial models: TRADES, β = 6, its KL attack PGD-3 (step 0.12, random start) at L∞
  ε = 0.3, ε ramped from 0 over the first epoch of 3; max and average pooling share the recipe and
  the seed, so pooling is the only difference;
* the generators (kind "generator", parent the classifier, ``arch_kwargs.layer`` the layer): a
  DCGAN-style generator at 28×28 after a compression network (narrower than the paper's Table 4),
  one epoch of the InterpretGAN objective with λ = 1 (``advlab.train.InterpretGANLoss``).

Robust accuracy in the manifest: PGD-40 (step 0.01, random start) at ε = 0.3 on the first 1,000 test
images (the chapter measures every attack on a seeded, class-stratified sample).
"""
from ...models.interpretgan import LAYERS

_PGD40 = {"attack": "pgd", "norm": "linf", "eps": 0.3, "steps": 40, "alpha": 0.01, "n": 1000}
_TRADES = {"attack": "pgd", "norm": "linf", "eps": 0.3, "steps": 3, "alpha": 0.12, "ramp_epochs": 1, "beta": 6.0}

_NATURAL = {
    "description": "Zheng et al.'s MNIST CNN (conv 32-32-pool-64-64-pool, fc 200-200-10), standard training",
    "kind": "classifier", "objective": "ce",
    "arch": "layered_cnn", "arch_kwargs": {"pool": "max"},
    "dataset": "mnist", "epochs": 3, "batch_size": 128, "seed": 0,
    "optimizer": "adam", "lr": 2e-3, "weight_decay": 0.0, "schedule": "onecycle",
    "label_smoothing": 0.0, "augment": None, "adversarial": None,
    "robust_eval": _PGD40,
}
_ADVERSARIAL = dict(_NATURAL, objective="trades", adversarial=_TRADES,
                    description="Zheng et al.'s MNIST CNN, max pooling, TRADES (beta = 6, PGD-3) at L-inf eps = 0.3")

CLASSIFIERS = {
    "mnist_layered": _NATURAL,
    "mnist_layered_trades": _ADVERSARIAL,
    "mnist_layered_trades_avg": dict(
        _ADVERSARIAL, arch_kwargs={"pool": "avg"},
        description="Zheng et al.'s MNIST CNN with average pooling, TRADES (beta = 6, PGD-3) at L-inf eps = 0.3"),
}


def _generator(parent: str, layer: str) -> dict:
    return {
        "description": f"InterpretGAN explanation generator of {parent} at layer {layer}",
        "kind": "generator", "parent": parent, "objective": "interpret_gan",
        "arch": "explanation_generator", "arch_kwargs": {"layer": layer, "pool": "max", "code": 64},
        "dataset": "mnist", "epochs": 1, "batch_size": 128, "seed": 0,
        "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "schedule": "onecycle", "augment": None,
        "adversarial": None,
        "interpret_gan": {"lam": 1.0, "d_lr": 2e-4, "d_width": 32},
    }


def generator_name(parent: str, layer: str) -> str:
    """The zoo name of ``parent``'s explanation generator at ``layer``."""
    return f"{parent}_gen_{layer}"


GENERATORS = {generator_name(p, layer): _generator(p, layer)
              for p in ("mnist_layered", "mnist_layered_trades") for layer in LAYERS}

RECIPES = {**CLASSIFIERS, **GENERATORS}
