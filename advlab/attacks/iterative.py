"""The loop of the PGD family (chapter 1): BIM, PGD and MIM differ only in defaults and in
the direction they step along (MIM's momentum, in ``mim.py``)."""
from __future__ import annotations

from ..core import checks
from . import objectives
from .base import Attack


class IterativeAttack(Attack):
    """Base of the iterative attacks BIM, PGD and MIM (chapter 1): ``steps`` projected steps
    of size ``alpha`` along ``direction(∇)`` from ``x`` or from a random point of the ball.
    It takes :class:`~advlab.attacks.base.Attack`'s arguments, and these:

    Args:
        steps: number of gradient steps.
        alpha: step size in pixel units (``None``: ``default_alpha``, capped at the
            threat model's ``max_step`` so that no valid (ε, steps) pair is refused).
        random_start: start from a uniformly random point of the ball.
        restarts: independent runs; each example keeps its most successful one (then the
            one with the larger objective).
    """

    name = "iterative"
    iterative = True

    def __init__(self, model, eps=8 / 255, *, steps=10, alpha=None, random_start=False, restarts=1,
                 **kwargs):
        super().__init__(model, eps, **kwargs)
        self.steps = checks.number(steps, "steps", 1, 10_000, integer=True)
        self._set_walk(alpha, random_start, restarts)

    def default_alpha(self) -> float:
        """Madry et al.'s rule 2.5·ε/steps, so the walk can cross the ball, capped at ``max_step``."""
        return min(self.step_rule(), self.threat.max_step)

    def step_rule(self) -> float:
        return 2.5 * self.eps / self.steps

    def direction(self, grad, state):
        """What a step follows, from the gradient and the loop's state: ``(direction, state)``.
        The plain gradient here; MIM overrides it with its momentum."""
        return grad, state

    def perturb(self, x, y, start):
        """One run of the shared loop: ``steps`` projected steps from ``start``."""
        th, loss = self.threat, objectives.prepare(self.objective, self.model, x, y)
        x_adv, state = start, None
        for _ in range(self.steps):
            grad, state = self.direction(self.gradient(loss, x_adv), state)
            x_adv = th.project(th.step(x_adv, grad, self.alpha), x)
        return x_adv.detach()
