"""The base class every attack shares: bookkeeping lives here, maths in the subclasses.

``Attack.__call__(x, y)`` validates the input, puts the model in eval mode with
its parameters frozen (no weight gradients are computed: they are never used),
runs ``run`` (random starts, restarts and chunks around ``perturb``; an attack
without an ε-ball such as ``CW`` overrides it), and restores the model's modes and ``requires_grad`` flags,
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

from ..core import checks
from ..core.batching import chunks
from ..core.checks import model_labels
from ..core.modes import frozen_eval
from . import objectives
from . import threat as _threat


class Attack:
    """Base of all attacks (chapter 1). Subclasses implement ``perturb``; gradient attacks
    usually subclass :class:`~advlab.attacks.iterative.IterativeAttack` (or :class:`FGSM`).

    Args:
        model: maps images in [0, 1] (N×C×H×W) to logits.
        eps: radius of the threat model in pixel units; ``"8/255"`` is accepted.
        norm: ``"linf"`` or ``"l2"``.
        loss: the objective the attack ascends: a name of ``OBJECTIVES`` (``"ce"``,
            ``"targeted_ce"``, ``"trades_kl"``, ``"margin"``, ``"targeted_margin"``,
            ``"worst_discrepancy"``, ``"aai"``) or a callable ``(model, x_adv, x, y) -> (N,)``
            (see ``advlab.attacks.objectives``).
            ``None``: cross-entropy, toward the targets when ``targeted``.
        targeted: if True, ``y`` holds *target* classes and the attack moves toward them.
        seed: seed of the random start.
        batch_size: images attacked at a time (``None``: the whole batch at once). Images are
            independent in eval mode, so this changes speed and memory, not the result.
    """

    name = "attack"
    iterative = False     # True for attacks that take ``steps``
    random_start = False  # subclasses that offer a random start or restarts set these
    restarts = 1

    def __init__(self, model, eps=8 / 255, *, norm="linf", loss=None, targeted=False, seed=0,
                 batch_size=64):
        self.model = checks.model(model)
        self.eps = checks.parse_eps(eps)
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        self.threat = _threat.make(norm, self.eps)
        self.norm = norm
        self._settings(loss, targeted, seed, batch_size)

    def _settings(self, loss, targeted, seed, batch_size):
        """Validate and set what every attack takes besides its threat model (also used by
        attacks with no ε-ball, such as :class:`~advlab.attacks.cw.CW`)."""
        self.targeted = checks.flag(targeted, "targeted")
        self.objective, self.loss = objectives.resolve(loss, self.targeted)
        self.seed = checks.seed(seed)
        self.batch_size = checks.optional_number(batch_size, "batch_size", 1, 2**31, integer=True)

    def _set_walk(self, alpha, random_start, restarts):
        """Validate and set the step size (``None``: ``default_alpha``), the random start and the restarts."""
        if alpha is None:
            alpha = self.default_alpha()
        self.alpha = checks.number(checks.parse_eps(alpha, "alpha"), "alpha", 0.0, self.threat.max_step)
        self.random_start = checks.flag(random_start, "random_start")
        self.restarts = checks.number(restarts, "restarts", 1, 1000, integer=True)

    def default_alpha(self) -> float:
        """The step size when none is given: ε (one step across the ball)."""
        return self.eps

    def __repr__(self):
        walk = "".join(f", {k}={getattr(self, k)!r}" for k in ("steps", "alpha", "random_start", "restarts")
                       if k in vars(self))
        return (f"{type(self).__name__}(eps={self.eps:.4g}, norm={self.norm!r}{walk}, "
                f"loss={self.loss!r}, targeted={self.targeted})")

    # -- the public verb -------------------------------------------------
    def __call__(self, x: torch.Tensor, y) -> torch.Tensor:
        """Return adversarial examples for images ``x`` and labels (or targets) ``y``."""
        checks.images(x, model=self.model)
        self.check_input(x)
        with frozen_eval(self.model), torch.enable_grad():  # also inside a caller's torch.no_grad()
            return self.run(x, model_labels(self.model, y, x, "y"))

    def check_input(self, x: torch.Tensor) -> None:
        """Refuse images the attack cannot take beyond ``checks.images`` (an L2 ε past the cube's diameter)."""
        self.threat.check(x)

    def run(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The attack on validated ``x`` and ``y``, in frozen eval mode: random starts, restarts and
        chunks around ``perturb``."""
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
            best = self._keep_best(best, x_adv, x, y)
        assert best is not None
        return best[0]

    # -- the maths ---------------------------------------------------------
    def perturb(self, x, y, start):
        """Adversarial examples for one chunk: clean ``x``, labels ``y``, starting point ``start``."""
        raise NotImplementedError

    def gradient(self, loss, x_adv):
        """∇ of the summed per-example ``loss`` (``objectives.prepare``) at ``x_adv``."""
        x_adv = x_adv.detach().requires_grad_(True)
        total = loss(x_adv).sum()
        if not total.requires_grad:
            raise ValueError(f"loss {self.loss!r} must depend differentiably on x_adv (its value has no gradient)")
        (grad,) = torch.autograd.grad(total, x_adv)
        return grad

    def _keep_best(self, best, x_adv, x, y):
        """Per example, the restart that succeeds, then the one with the larger objective."""
        score = []
        for i in chunks(len(x_adv), self.batch_size):
            with torch.no_grad():
                pred = self.model(x_adv[i]).argmax(1)
            value = objectives.prepare(self.objective, self.model, x[i], y[i])(x_adv[i]).detach()
            success = pred == y[i] if self.targeted else pred != y[i]
            score.append(torch.stack([success.to(value.dtype), value]))
        score = torch.cat(score, 1)
        if best is None:
            return x_adv, score
        better = (score[0] > best[1][0]) | ((score[0] == best[1][0]) & (score[1] > best[1][1]))
        return torch.where(better.view(-1, 1, 1, 1), x_adv, best[0]), torch.where(better, score, best[1])
