from .iterative import IterativeAttack


class BIM(IterativeAttack):
    """Basic Iterative Method (Kurakin et al., 2017; chapter 1), also called I-FGSM.

    FGSM repeated ``steps`` times with step ``alpha`` (default ε/steps, as in the
    course's slides), clipped back into the ε-ball after each step; no random start.

    >>> x_adv = BIM(model, eps="8/255", steps=10)(x, y)
    """
    name = "bim"

    def __init__(self, model, eps=8 / 255, steps=10, **kwargs):
        super().__init__(model, eps, steps=steps, **kwargs)

    def step_rule(self):
        return self.eps / self.steps
