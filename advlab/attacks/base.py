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

import contextlib
import weakref

import torch
import torch.nn.functional as F

from .. import _validate
from . import threat as _threat


@contextlib.contextmanager
def frozen_eval(model: torch.nn.Module):
    """Eval mode and frozen parameters inside the block; the caller's state after."""
    modes = [(m, m.training) for m in model.modules()]
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        if any(mode for _, mode in modes):
            model.eval()
        for p in trainable:
            p.requires_grad_(False)
        yield model
    finally:
        # put back only what differs: this runs around every attack and map, so it stays cheap
        for m, mode in modes:
            if m.training != mode:
                m.training = mode
        for p in trainable:
            p.requires_grad_(True)


_N_CLASSES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def n_classes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """How many logits ``model`` gives for images like ``x``: one forward of one image, remembered
    for this model while its parameters are the same tensors (a replaced head is probed again).
    Call inside :func:`frozen_eval`, so the probe cannot touch batch-norm statistics."""
    key = (tuple(map(id, model.parameters())), tuple(x.shape[1:]), x.dtype, x.device)
    try:
        known = _N_CLASSES.get(model)
    except TypeError:  # a model that cannot be weakly referenced is simply probed every time
        known = None
    if known is not None and known[0] == key:
        return known[1]
    with torch.no_grad():
        n = model(x[:1]).shape[1]
    try:
        _N_CLASSES[model] = (key, n)
    except TypeError:
        pass
    return n


def chunks(n: int, size: int | None = None) -> list:
    """Slices cutting ``n`` items into consecutive pieces of ``size`` (``None``: one piece)."""
    size = size or n
    return [slice(i, i + size) for i in range(0, n, size)]


def model_labels(model: torch.nn.Module, y, x: torch.Tensor, name: str) -> torch.Tensor:
    """Validate class indices ``y`` for batch ``x`` against :func:`n_classes` of ``model``;
    returns them as a long tensor on ``x``'s device. Call inside :func:`frozen_eval`.
    Labels made under ``torch.inference_mode`` (e.g. by :func:`advlab.metrics.predict`) are
    copied into normal tensors, which autograd accepts."""
    y = _validate.labels(y, x.shape[0], name=name)
    y = _validate.labels(y, x.shape[0], n_classes(model, x), name=name).to(x.device)
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
        batch_size: images attacked at a time (``None``: the whole batch at once). Images are
            independent in eval mode, so this changes speed and memory, not the result.
    """

    name = "attack"

    def __init__(self, model, eps=8 / 255, *, norm="linf", steps=10, alpha=None, random_start=False,
                 restarts=1, momentum=0.0, targeted=False, seed=0, batch_size=64):
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
        self.batch_size = (None if batch_size is None
                           else _validate.number(batch_size, "batch_size", 1, 2**31, integer=True))

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
