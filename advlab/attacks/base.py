"""The base class every attack shares: bookkeeping lives here, maths in the subclasses.

``Attack.__call__(x, y)`` validates the input, puts the model in eval mode with
its parameters frozen (no weight gradients are computed: they are never used),
runs ``perturb``, and restores the model's modes and ``requires_grad`` flags,
whatever happens. Random starts draw from a generator seeded by ``seed``, so the
same call gives the same ``x_adv``.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from .. import _validate
from . import threat as _threat


@contextlib.contextmanager
def frozen_eval(model: torch.nn.Module):
    """Eval mode and frozen parameters inside the block; the caller's state after."""
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in grads:
            p.requires_grad_(False)
        yield model
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in grads:
            p.requires_grad_(flag)


def model_labels(model: torch.nn.Module, y, x: torch.Tensor, name: str) -> torch.Tensor:
    """Validate class indices ``y`` for batch ``x`` against the number of classes ``model``
    outputs (one forward of one image); returns them as a long tensor on ``x``'s device.
    Call inside :func:`frozen_eval`, so the probe cannot touch batch-norm statistics.
    Labels made under ``torch.inference_mode`` (e.g. by :func:`advlab.metrics.predict`) are
    copied into normal tensors, which autograd accepts."""
    y = _validate.labels(y, x.shape[0], name=name)
    with torch.no_grad():
        n_classes = model(x[:1]).shape[1]
    y = _validate.labels(y, x.shape[0], n_classes, name=name).to(x.device)
    return y.clone() if y.is_inference() else y


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
    """

    name = "attack"

    def __init__(self, model, eps=8 / 255, *, norm="linf", steps=10, alpha=None, random_start=False,
                 restarts=1, momentum=0.0, targeted=False, seed=0):
        self.model = _validate.model(model)
        self.eps = _validate.parse_eps(eps)
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        self.threat = _threat.make(norm, self.eps)
        self.norm = norm
        self.steps = _validate.number(steps, "steps", 1, 10_000, integer=True)
        if alpha is None:
            alpha = self.default_alpha()
        self.alpha = _validate.number(_validate.parse_eps(alpha, "alpha"), "alpha", 0.0,
                                      1.0 if norm == "linf" else 1e4)
        self.random_start = bool(random_start)
        self.restarts = _validate.number(restarts, "restarts", 1, 1000, integer=True)
        self.momentum = _validate.number(momentum, "momentum", 0.0, 10.0)
        self.targeted = bool(targeted)
        self.seed = _validate.number(seed, "seed", 0, 2**63 - 1, integer=True)

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
        _validate.images(x)
        self.threat.check(x)
        with frozen_eval(self.model):
            y = model_labels(self.model, y, x, "y")
            if self.eps == 0:
                return x.clone()
            gen = torch.Generator(device=x.device).manual_seed(self.seed)
            best = None
            for _ in range(self.restarts):
                x_adv = self.perturb(x, y, gen)
                if self.restarts == 1:
                    return x_adv
                best = self._keep_best(best, x_adv, y)
            return best[0]

    # -- the maths ---------------------------------------------------------
    def loss(self, logits, y):
        """Summed cross-entropy; its negative for targeted attacks (we ascend)."""
        loss = F.cross_entropy(logits, y, reduction="sum")
        return -loss if self.targeted else loss

    def perturb(self, x, y, gen):
        """One run of the shared loop: (random start), then ``steps`` projected steps."""
        th = self.threat
        x_adv = th.random_init(x, gen) if self.random_start else x.clone()
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
            logits = self.model(x_adv)
            loss = F.cross_entropy(logits, y, reduction="none")
            success = logits.argmax(1) == y if self.targeted else logits.argmax(1) != y
            score = success.float() * 1e6 + (-loss if self.targeted else loss)
        if best is None:
            return x_adv, score
        better = score > best[1]
        return torch.where(better.view(-1, 1, 1, 1), x_adv, best[0]), torch.where(better, score, best[1])
