"""Adversarial attacks: bind a model, then call ``atk(x, y) -> x_adv``.

Every attack works in pixel space ([0, 1]); ε and step sizes are in pixel units
("8/255" strings are accepted). ``REGISTRY`` maps names to the attacks inside an ε-ball
(chapter 1's FGSM, BIM, MIM and PGD; chapter 6's group-sparse ``GroupPGD``): the ε-slider
panels and the contract tests iterate it. ``MINIMUM_NORM`` maps names to the attacks that
have no ε and look for the smallest perturbation instead (chapter 6's Carlini–Wagner ``CW``).
``make`` builds either kind. ``OBJECTIVES`` maps names to the losses an attack can ascend
(``loss=``); ``group_norms`` measures the k×k groups of a perturbation, and ``RegionPGD`` confines
PGD to the CAM regions of the true and the target class, or to the same region shifted (chapter 6).
"""
from ..core import checks
from . import objectives
from .base import Attack
from .bim import BIM
from .cw import CW
from .fgsm import FGSM
from .group import GroupPGD, group_norms
from .iterative import IterativeAttack
from .mim import MIM
from .objectives import OBJECTIVES
from .pgd import PGD
from .region import REGIONS, RegionPGD
from .threat import L2, THREATS, Linf

REGISTRY = {cls.name: cls for cls in (FGSM, BIM, MIM, PGD, GroupPGD)}
MINIMUM_NORM = {cls.name: cls for cls in (CW,)}
parse_eps = checks.parse_eps


def make(name: str, model, **kwargs) -> Attack:
    """Build the attack called ``name`` (a key of ``REGISTRY`` or ``MINIMUM_NORM``) on ``model``
    (chapters 1 and 6)."""
    known = {**REGISTRY, **MINIMUM_NORM}
    checks.choice(name, "attack", known)
    return known[name](model, **kwargs)


def steps_for(name: str, steps) -> dict:
    """``{"steps": steps}`` for an iterative attack, ``{}`` for a single-step one (FGSM), for
    callers that offer every attack one steps setting (tables, widgets):
    ``make(name, model, eps=eps, **steps_for(name, steps))``."""
    checks.choice(name, "attack", REGISTRY)
    return {"steps": steps} if REGISTRY[name].iterative else {}


__all__ = ["BIM", "CW", "FGSM", "L2", "MIM", "MINIMUM_NORM", "OBJECTIVES", "PGD", "REGIONS", "REGISTRY", "THREATS",
           "Attack", "GroupPGD", "IterativeAttack", "Linf", "RegionPGD", "group_norms", "make", "objectives",
           "parse_eps", "steps_for"]
