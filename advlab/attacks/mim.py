from .bim import BIM


class MIM(BIM):
    """Momentum Iterative Method (Dong et al., 2018).

    BIM whose step follows an accumulated gradient
    ``g ← μ·g + ∇/‖∇‖₁`` (μ = ``momentum``, 1.0 by default), which stabilises
    the direction and transfers better between models. Step ``alpha = ε/steps``.

    >>> x_adv = MIM(model, eps="8/255", steps=10)(x, y)
    """
    name = "mim"

    def __init__(self, model, eps=8 / 255, steps=10, momentum=1.0, **kwargs):
        super().__init__(model, eps, steps=steps, momentum=momentum, **kwargs)
