"""Adversarial attacks: bind a model, then call ``atk(x, y) -> x_adv``.

Every attack works in pixel space ([0, 1]); ε and step sizes are in pixel units
("8/255" strings are accepted). ``REGISTRY`` maps names to classes; ``OBJECTIVES``
maps names to the losses an attack can ascend (``loss=``).
"""
from ..core import checks
from . import objectives
from .base import Attack
from .bim import BIM
from .fgsm import FGSM
from .iterative import IterativeAttack
from .mim import MIM
from .objectives import OBJECTIVES
from .pgd import PGD
from .region import REGIONS, RegionPGD
from .threat import L2, THREATS, Linf

REGISTRY = {cls.name: cls for cls in (FGSM, BIM, MIM, PGD)}
parse_eps = checks.parse_eps


def make(name: str, model, **kwargs) -> Attack:
    """Build the attack called ``name`` (a key of ``REGISTRY``) on ``model`` (chapter 1)."""
    checks.choice(name, "attack", REGISTRY)
    return REGISTRY[name](model, **kwargs)


def steps_for(name: str, steps) -> dict:
    """``{"steps": steps}`` for an iterative attack, ``{}`` for a single-step one (FGSM), for
    callers that offer every attack one steps setting (tables, widgets):
    ``make(name, model, eps=eps, **steps_for(name, steps))``."""
    checks.choice(name, "attack", REGISTRY)
    return {"steps": steps} if REGISTRY[name].iterative else {}


__all__ = ["BIM", "FGSM", "L2", "MIM", "OBJECTIVES", "PGD", "REGIONS", "REGISTRY", "RegionPGD", "THREATS", "Attack",
           "IterativeAttack", "Linf", "make", "objectives", "parse_eps", "steps_for"]
