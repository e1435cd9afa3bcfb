import torch

from ..core import checks
from .bim import BIM


class MIM(BIM):
    """Momentum Iterative Method (Dong et al., 2018; chapter 1).

    BIM whose step follows an accumulated gradient
    ``g ← μ·g + ∇/‖∇‖₁`` (μ = ``momentum``, 1.0 by default), which stabilises
    the direction and transfers better between models. Step ``alpha = ε/steps``.

    >>> x_adv = MIM(model, eps="8/255", steps=10)(x, y)
    """
    name = "mim"

    def __init__(self, model, eps=8 / 255, steps=10, momentum=1.0, **kwargs):
        super().__init__(model, eps, steps=steps, **kwargs)
        self.momentum = checks.number(momentum, "momentum", 0.0, 10.0)

    def direction(self, grad, velocity):
        """g ← μ·g + ∇/‖∇‖₁ (the L1 norm per example, as a mean: the scale does not change a step)."""
        if velocity is None:
            velocity = torch.zeros_like(grad)
        velocity = self.momentum * velocity + grad / grad.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, 1, 1, 1)
        return velocity, velocity
