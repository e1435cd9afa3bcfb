from .iterative import IterativeAttack


class PGD(IterativeAttack):
    """Projected Gradient Descent (Madry et al., 2018; chapter 1).

    BIM from a uniformly random point of the ε-ball, optionally restarted:
    ``x ← Π_{B(x₀, ε) ∩ [0,1]}(x + α·step(∇ₓ L))``. Under L∞ the step is
    the gradient's sign, under L2 the normalised gradient.

    >>> x_adv = PGD(model, eps=0.3, steps=40, alpha=0.01)(x, y)
    >>> x_adv = PGD(model, eps=0.5, norm="l2", restarts=5)(x, y)
    """
    name = "pgd"

    def __init__(self, model, eps=8 / 255, steps=10, random_start=True, **kwargs):
        super().__init__(model, eps, steps=steps, random_start=random_start, **kwargs)
