"""The base class every attack shares: bookkeeping lives here, maths in the subclasses.

``Attack.__call__(x, y)`` validates the input, puts the model in eval mode with
its parameters frozen (no weight gradients are computed: they are never used),
runs ``perturb``, and restores the model's modes and ``requires_grad`` flags,
whatever happens. Random starts draw from a generator seeded by ``seed``, so the
same call gives the same ``x_adv``, whatever ``batch_size`` is.

A large batch is attacked ``batch_size`` images at a time, each chunk running the
whole loop. Small activations are reused from the allocator's heap (and cache) step
after step, while on a whole batch of 256 CIFAR-10 images each activation is 33 MB,
a fresh memory mapping the kernel faults in and zeroes every time: on the 2-core
benchmark machine PGD-10 took 0.66–0.96× the time of the whole-batch loop, depending
on the allocator's state (``benchmarks/report.md``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core import checks
from ..core.batching import chunks
from ..core.checks import model_labels
from ..core.modes import frozen_eval
from . import threat as _threat


class Attack:
    """Base of all attacks. Subclasses set defaults and may override ``perturb``.

    Args:
        model: maps images in [0, 1] (N×C×H×W) to logits.
        eps: radius of the threat model in pixel units; ``"8/255"`` is accepted.
        norm: ``"linf"`` or ``"l2"``.
        steps: number of gradient steps.
        alpha: step size in pixel units (``None``: the attack's default rule).
        random_start: start from a random point of the ball.
        restarts: independent runs; each example keeps its most successful one.
        momentum: decay factor μ of MIM's accumulated gradient (0: none).
        targeted: if True, ``y`` holds *target* classes and the attack moves toward them.
        seed: seed of the random start.
        batch_size: images attacked at a time (``None``: the whole batch at once). Images are
            independent in eval mode, so this changes speed and memory, not the result.
    """

    name = "attack"

    def __init__(self, model, eps=8 / 255, *, norm="linf", steps=10, alpha=None, random_start=False,
                 restarts=1, momentum=0.0, targeted=False, seed=0, batch_size=64):
        self.model = checks.model(model)
        self.eps = checks.parse_eps(eps)
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        self.threat = _threat.make(norm, self.eps)
        self.norm = norm
        self.steps = checks.number(steps, "steps", 1, 10_000, integer=True)
        if alpha is None:
            alpha = self.default_alpha()
        self.alpha = checks.number(checks.parse_eps(alpha, "alpha"), "alpha", 0.0,
                                      1.0 if norm == "linf" else 1e4)
        self.random_start = bool(random_start)
        self.restarts = checks.number(restarts, "restarts", 1, 1000, integer=True)
        self.momentum = checks.number(momentum, "momentum", 0.0, 10.0)
        self.targeted = bool(targeted)
        self.seed = checks.number(seed, "seed", 0, 2**63 - 1, integer=True)
        self.batch_size = (None if batch_size is None
                           else checks.number(batch_size, "batch_size", 1, 2**31, integer=True))

    def default_alpha(self) -> float:
        """Madry et al.'s rule: 2.5·ε/steps, so the walk can cross the ball."""
        return 2.5 * self.eps / self.steps

    def __repr__(self):
        return (f"{type(self).__name__}(eps={self.eps:.4g}, norm={self.norm!r}, steps={self.steps}, "
                f"alpha={self.alpha:.4g}, random_start={self.random_start}, restarts={self.restarts}, "
                f"targeted={self.targeted})")

    # -- the public verb -------------------------------------------------
    def __call__(self, x: torch.Tensor, y) -> torch.Tensor:
        """Return adversarial examples for images ``x`` and labels (or targets) ``y``."""
        checks.images(x)
        self.threat.check(x)
        with frozen_eval(self.model):
            y = model_labels(self.model, y, x, "y")
            if self.eps == 0:
                return x.clone()
            gen = torch.Generator(device=x.device).manual_seed(self.seed)
            best = None
            for _ in range(self.restarts):
                # the whole batch's start is drawn first, so chunking cannot change it
                start = self.threat.random_init(x, gen) if self.random_start else x
                x_adv = torch.cat([self.perturb(x[i], y[i], start[i]) for i in chunks(len(x), self.batch_size)])
                if self.restarts == 1:
                    return x_adv
                best = self._keep_best(best, x_adv, y)
            return best[0]

    # -- the maths ---------------------------------------------------------
    def loss(self, logits, y):
        """Summed cross-entropy; its negative for targeted attacks (we ascend)."""
        loss = F.cross_entropy(logits, y, reduction="sum")
        return -loss if self.targeted else loss

    def perturb(self, x, y, start):
        """One run of the shared loop: ``steps`` projected steps from ``start``."""
        th = self.threat
        x_adv = start.clone()
        velocity = torch.zeros_like(x)
        for _ in range(self.steps):
            x_adv.requires_grad_(True)
            (grad,) = torch.autograd.grad(self.loss(self.model(x_adv), y), x_adv)
            if self.momentum:
                # MIM: accumulate L1-normalised gradients, step along the accumulator
                velocity = self.momentum * velocity + grad / grad.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, 1, 1, 1)
                grad = velocity
            x_adv = th.project(th.step(x_adv.detach(), grad, self.alpha), x)
        return x_adv.detach()

    def _keep_best(self, best, x_adv, y):
        with torch.no_grad():
            logits = torch.cat([self.model(x_adv[i]) for i in chunks(len(x_adv), self.batch_size)])
            loss = F.cross_entropy(logits, y, reduction="none")
            success = logits.argmax(1) == y if self.targeted else logits.argmax(1) != y
            score = success.float() * 1e6 + (-loss if self.targeted else loss)
        if best is None:
            return x_adv, score
        better = score > best[1]
        return torch.where(better.view(-1, 1, 1, 1), x_adv, best[0]), torch.where(better, score, best[1])
