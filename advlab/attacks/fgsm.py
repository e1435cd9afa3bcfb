from .base import Attack


class FGSM(Attack):
    """Fast Gradient Sign Method (Goodfellow et al., 2015).

    One step of size ε along sign(∇ₓ loss) under L∞ (along ∇/‖∇‖₂ under L2,
    the "fast gradient method"). ``x_adv = clip(x + ε·sign(∇ₓ L(f(x), y)), 0, 1)``.

    >>> x_adv = FGSM(model, eps="8/255")(x, y)
    """
    name = "fgsm"

    def __init__(self, model, eps=8 / 255, **kwargs):
        kwargs.setdefault("steps", 1)
        super().__init__(model, eps, **kwargs)

    def default_alpha(self):
        return self.eps / self.steps
