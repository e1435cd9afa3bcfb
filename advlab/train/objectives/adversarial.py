"""Adversarial training: the loss is taken at (or regularised by) adversarial examples of the batch.

The examples come from ``advlab.attacks`` (eval mode, frozen weights, seeded random starts), with
ε and the step size ramped linearly from 0 over the first ``ramp_epochs`` epochs, which keeps the
first epochs from collapsing to a constant prediction.
"""
from __future__ import annotations

import torch.nn.functional as F

from ... import attacks
from ...core import checks
from .base import Context, Objective


class _Adversarial(Objective):
    attack = "pgd"

    def __init__(self, eps=8 / 255, norm: str = "linf", steps: int = 10, alpha=None,
                 random_start: bool = True, ramp_epochs: float = 0, label_smoothing: float = 0.0):
        self.eps = checks.parse_eps(eps)
        self.norm = checks.choice(norm, "norm", attacks.THREATS)
        self.steps = checks.number(steps, "steps", 1, 10_000, integer=True)
        self.alpha = None if alpha is None else checks.parse_eps(alpha, "alpha")
        self.random_start = checks.flag(random_start, "random_start")
        self.ramp_epochs = checks.number(ramp_epochs, "ramp_epochs", 0, 10_000)
        self.label_smoothing = checks.number(label_smoothing, "label_smoothing", 0.0, 1.0)

    def make_attack(self, model, context: Context, **extra):
        """This step's attack: ε and α scaled by the ramp, a seed of its own."""
        r = context.ramp(self.ramp_epochs)
        kwargs = dict(eps=self.eps * r, norm=self.norm, random_start=self.random_start,
                      seed=context.attack_seed, **extra)
        if self.alpha is not None:
            kwargs["alpha"] = self.alpha * r
        if self.attack != "fgsm":  # FGSM is one step by definition and takes no ``steps``
            kwargs["steps"] = self.steps
        return attacks.make(self.attack, model, **kwargs)

    def loss(self, model, x, y, context: Context):
        x_adv = self.make_attack(model, context)(x, y)
        return F.cross_entropy(model(x_adv), y, label_smoothing=self.label_smoothing)

    @classmethod
    def from_recipe(cls, recipe: dict):
        adv = dict(recipe.get("adversarial") or {})
        if adv.pop("attack", cls.attack) != cls.attack:
            raise ValueError(f"recipe['adversarial']['attack'] must be {cls.attack!r} for objective "
                             f"{cls.name!r}, got {recipe['adversarial']['attack']!r}")
        if cls.attack == "fgsm":
            adv.pop("steps", None)
        adv.setdefault("random_start", cls.attack == "pgd")
        return cls(label_smoothing=recipe.get("label_smoothing", 0.0), **adv)


class PGDAT(_Adversarial):
    """PGD adversarial training (Madry et al. 2018), taught in chapter 1 (L∞, MNIST) and used in
    chapter 3 under L∞ and L2 ("PGD-L2"): minimise the cross-entropy at PGD's examples,
    ``min_θ E max_{‖δ‖≤ε} CE(f(x + δ), y)``.

    >>> PGDAT(eps=0.3, steps=7, alpha=0.1, ramp_epochs=3)
    """

    name = "pgd_at"
    attack = "pgd"


class FGSMRS(_Adversarial):
    """"Fast is better than free" (Wong et al. 2020), chapter 3: one FGSM step of size α (1.25 ε)
    from a uniformly random start in the ε-ball, then cross-entropy at that example.

    >>> FGSMRS(eps=8 / 255, alpha=10 / 255, ramp_epochs=2)
    """

    name = "fgsm_rs"
    attack = "fgsm"

    def __init__(self, eps=8 / 255, norm: str = "linf", alpha=None, random_start: bool = True,
                 ramp_epochs: float = 0, label_smoothing: float = 0.0):
        super().__init__(eps, norm, 1, 1.25 * checks.parse_eps(eps) if alpha is None else alpha,
                         random_start, ramp_epochs, label_smoothing)


class TRADES(_Adversarial):
    """TRADES (Zhang et al. 2019), chapter 4: ``CE(f(x), y) + β·KL(f(x) ‖ f(x_adv))``, with
    ``x_adv`` from PGD maximising that KL divergence (the attack's ``loss="trades_kl"``). The KL
    and its gradient vanish at ``x_adv = x``, so the walk needs a random start: PGD's, uniform in
    the ε-ball (the paper's code starts at ``x + 0.001·N(0, I)``). β trades clean accuracy for
    robustness (the paper uses 6); both forwards run in train mode, as in the paper's code.

    >>> TRADES(eps=8 / 255, steps=10, alpha=2 / 255, beta=6.0)
    """

    name = "trades"
    attack = "pgd"

    def __init__(self, eps=8 / 255, norm: str = "linf", steps: int = 10, alpha=None, beta: float = 6.0,
                 random_start: bool = True, ramp_epochs: float = 0, label_smoothing: float = 0.0):
        super().__init__(eps, norm, steps, alpha, random_start, ramp_epochs, label_smoothing)
        self.beta = checks.number(beta, "beta", 0.0, 1e6)

    def loss(self, model, x, y, context: Context):
        x_adv = self.make_attack(model, context, loss="trades_kl")(x, y)
        logits = model(x)
        kl = F.kl_div(F.log_softmax(model(x_adv), 1), F.softmax(logits, 1), reduction="batchmean")
        return F.cross_entropy(logits, y, label_smoothing=self.label_smoothing) + self.beta * kl
