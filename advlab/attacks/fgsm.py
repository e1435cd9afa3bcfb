from . import objectives
from .base import Attack


class FGSM(Attack):
    """Fast Gradient Sign Method (Goodfellow et al., 2015; chapter 1).

    One step of size ε along sign(∇ₓ loss) under L∞ (along ∇/‖∇‖₂ under L2,
    the "fast gradient method"). ``x_adv = clip(x + ε·sign(∇ₓ L(f(x), y)), 0, 1)``.
    With ``random_start`` and a step ``alpha`` it is FGSM-RS (Wong et al., 2020),
    the fast adversarial training attack. It takes no ``steps``: BIM and PGD iterate.

    >>> x_adv = FGSM(model, eps="8/255")(x, y)
    """
    name = "fgsm"

    def __init__(self, model, eps=8 / 255, *, alpha=None, random_start=False, restarts=1,
                 steps=None, **kwargs):
        if steps is not None:
            raise ValueError(f"FGSM takes a single step; use BIM or PGD for several "
                             f"(steps is not accepted, got steps={steps!r})")
        super().__init__(model, eps, **kwargs)
        self._set_walk(alpha, random_start, restarts)

    def perturb(self, x, y, start):
        grad = self.gradient(objectives.prepare(self.objective, self.model, x, y), start)
        return self.threat.project(self.threat.step(start, grad, self.alpha), x).detach()
