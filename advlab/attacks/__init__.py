"""Adversarial attacks: bind a model, then call ``atk(x, y) -> x_adv``.

Every attack works in pixel space ([0, 1]); ε and step sizes are in pixel units
("8/255" strings are accepted). ``REGISTRY`` maps names to classes.
"""
from ..core import checks
from .base import Attack
from .bim import BIM
from .fgsm import FGSM
from .mim import MIM
from .pgd import PGD
from .threat import L2, THREATS, Linf

REGISTRY = {cls.name: cls for cls in (FGSM, BIM, MIM, PGD)}
parse_eps = checks.parse_eps


def make(name: str, model, **kwargs) -> Attack:
    """Build the attack called ``name`` (a key of ``REGISTRY``) on ``model``."""
    checks.choice(name, "attack", REGISTRY)
    return REGISTRY[name](model, **kwargs)


__all__ = ["Attack", "FGSM", "BIM", "MIM", "PGD", "Linf", "L2", "THREATS", "REGISTRY", "make",
           "parse_eps"]
