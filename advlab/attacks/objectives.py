"""Objectives: what an attack ascends. Swap the loss, keep the loop.

An objective is a callable ``(model, x_adv, x, y) -> loss`` of shape (N,), one value per
example, that the attack *increases*; the gradient step follows the sum of the values, so
examples never mix. Every attack takes ``loss=``: a name of ``OBJECTIVES`` or a callable.
Chapter 1 ascends cross-entropy; chapter 4 TRADES' KL, the worst interpretation discrepancy (Int)
and the attack on interpretation (AAI); chapter 5 ADV²'s joint loss (``ADV2``, a class binding an
interpreter: misclassify and keep the map; objectives may use ``advlab.interpret``, never the
other way round); chapter 6 Carlini & Wagner's margin.

An objective may also define ``prepare(model, x, y)`` returning ``x_adv -> loss``, to compute
once per batch what depends only on the clean images (TRADES' clean probabilities, a clean
saliency map), not once per step.

>>> x_adv = al.attacks.PGD(model, eps="8/255", loss="trades_kl")(x, y)
>>> x_adv = al.attacks.PGD(model, eps=0.3, loss=lambda m, xa, x, y: m(xa)[:, 0])(x, y)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(model, x_adv, x, y):
    """Untargeted cross-entropy L(f(x_adv), y): the default objective (chapter 1, FGSM to MIM)."""
    return F.cross_entropy(model(x_adv), y, reduction="none")


def targeted_cross_entropy(model, x_adv, x, y):
    """Minus the cross-entropy toward the target classes ``y``: the default when ``targeted=True``
    (chapter 1's targeted attacks)."""
    return -F.cross_entropy(model(x_adv), y, reduction="none")


def _best_other(logits, cls):
    """The largest logit of a class other than ``cls``, per example."""
    return logits.masked_fill(F.one_hot(cls, logits.shape[1]).bool(), float("-inf")).amax(1)


def margin(model, x_adv, x, y):
    """Carlini & Wagner's logit margin max_{j≠y} z_j − z_y (chapter 6): positive once the
    example is misclassified; unlike cross-entropy it does not saturate on confident models."""
    z = model(x_adv)
    return _best_other(z, y) - z.gather(1, y[:, None])[:, 0]


def targeted_margin(model, x_adv, x, y):
    """The targeted margin z_t − max_{j≠t} z_j toward the target classes ``y`` (chapter 6)."""
    z = model(x_adv)
    return z.gather(1, y[:, None])[:, 0] - _best_other(z, y)


class TradesKL:
    """TRADES' inner maximisation (Zhang et al., 2019; chapter 4): per example
    KL(softmax f(x) ‖ softmax f(x_adv)); ``y`` is unused.

    It is 0 at ``x_adv = x``, and so is its gradient: start from a random point (PGD's default).
    The clean probabilities are computed once per batch (``prepare``), not at every step.
    """
    __name__ = "trades_kl"

    def prepare(self, model, x, y):
        with torch.no_grad():
            log_p = F.log_softmax(model(x), dim=1)
        return lambda x_adv: F.kl_div(F.log_softmax(model(x_adv), dim=1), log_p,
                                      reduction="none", log_target=True).sum(1)

    def __call__(self, model, x_adv, x, y):
        return self.prepare(model, x, y)(x_adv)


trades_kl = TradesKL()


class WorstDiscrepancy:
    """Int's inner maximisation (Boopathy et al. 2020; chapter 4): the smoothed interpretation
    discrepancy D̃(x, x_adv) between the CAMs of the clean and the moved image, per example.
    Needs a CAM-ready model; the clean maps are computed once per batch (``prepare``). It is 0 at
    ``x_adv = x``: start from a random point (PGD's default)."""
    __name__ = "worst_discrepancy"

    def prepare(self, model, x, y):
        from ..core import discrepancy as D
        with torch.no_grad():
            _, maps = D.class_maps(model, x)
        def loss(x_adv):
            logits_adv, maps_adv = D.class_maps(model, x_adv)
            return D.smoothed_discrepancy(maps, maps_adv, logits_adv, y)
        return loss

    def __call__(self, model, x_adv, x, y):
        return self.prepare(model, x, y)(x_adv)


class AttackOnInterpretation:
    """The attack against interpretability (AAI, Boopathy et al. 2020, Table 3; chapter 4): raise
    the ℓ₁ discrepancy ‖I(x, y) − I(x_adv, y)‖₁ of the true class's CAM while a hinge of weight
    ``lam`` on the margin max_{j≠y} f_j − f_y keeps the prediction. Needs a CAM-ready model."""
    __name__ = "aai"

    def __init__(self, lam: float = 10.0):
        self.lam = float(lam)

    def prepare(self, model, x, y):
        from ..core import discrepancy as D
        with torch.no_grad():
            _, maps = D.class_maps(model, x)
        clean = D.select(maps, y)

        def loss(x_adv):
            logits, maps_adv = D.class_maps(model, x_adv)
            hinge = (_best_other(logits, y) - logits.gather(1, y[:, None])[:, 0]).clamp(min=0)
            return D.l1_distance(clean, D.select(maps_adv, y)) - self.lam * hinge
        return loss

    def __call__(self, model, x_adv, x, y):
        return self.prepare(model, x, y)(x_adv)


class ADV2:
    """ADV², the joint attack on a model and its interpreter (Zhang et al., USENIX Security 2020;
    chapter 5): with ``targeted=True`` and ``y`` the target classes, ascend

        −( CE(f(x_adv), y) + lam · mean((ĝ(x_adv; y) − m)²) ),

    i.e. reach the target class while the interpreter's map of the adversarial image, for that
    class, stays close to a target map m. Maps are min-max normalised per image (ĝ), so one ``lam``
    serves interpreters whose raw maps live on different scales.

    Args:
        interpreter: an interpreter bound to the attacked model (or a stand-in for it: GRAD is
            attacked through a smooth-ReLU copy, ``advlab.models.smooth_relu``), whose
            ``attribute(x, target, differentiable=True)`` keeps the map on the graph; or a list
            of them (the ensemble defence's adaptive attacker: the map term is their mean).
        lam: weight of the map term.
        target_map: ``"benign"`` (the map of the clean image for its predicted class: the stealthy
            attack), ``"random"`` (a seeded random square patch covering ``patch`` of the image),
            or a tensor of N×H×W maps given per batch (another class's map, say).
        patch: the random patch's share of the image.
        seed: seed of the random patches.

    The target maps are computed once per batch (``prepare``). ``benign`` needs the interpreter's
    maps of the clean images, computed without the graph. An interpreter that is an optimisation
    with a look-ahead (MASK: it has ``lookahead``) is differentiated through ``lookahead`` steps
    from a warm start, the clean image's map (Zhang et al.'s look-ahead), not through its whole
    optimisation.
    """
    __name__ = "adv2"

    def __init__(self, interpreter, lam: float = 1.0, target_map="benign", patch: float = 0.25, seed: int = 0):
        many = isinstance(interpreter, (list, tuple))
        self.interpreters = list(interpreter) if many else [interpreter]
        if not self.interpreters:
            raise ValueError("interpreter must be an advlab interpreter or a non-empty list of them, got []")
        for it in self.interpreters:
            if not callable(getattr(it, "attribute", None)):
                raise ValueError(f"interpreter must be an advlab interpreter (with attribute), got "
                                 f"{type(it).__name__}")
            if not getattr(it, "differentiable", False):
                raise ValueError(f"interpreter {getattr(it, 'name', it)!r} has no differentiable maps; "
                                 f"ADV² needs attribute(x, target, differentiable=True)")
        from ..core import checks
        self.interpreter = interpreter
        self.lam = checks.number(lam, "lam", 0.0, 1e6)
        if isinstance(target_map, str):
            checks.choice(target_map, "target_map", ("benign", "random"))
        elif not isinstance(target_map, torch.Tensor):
            raise ValueError(f"target_map must be 'benign', 'random' or a tensor of N×H×W maps, got "
                             f"{type(target_map).__name__}")
        self.target_map = target_map
        self.patch = checks.number(patch, "patch", 1e-3, 1.0)
        self.seed = checks.seed(seed)

    def target_maps(self, model, x: torch.Tensor, interpreter=None) -> torch.Tensor:
        """The maps the attack aims at for clean images ``x`` (N×H×W, normalised), for
        ``interpreter`` (default: the first one)."""
        from ..core.maps import normalize
        n, _, h, w = x.shape
        if isinstance(self.target_map, torch.Tensor):
            if self.target_map.shape != (n, h, w):
                raise ValueError(f"target_map must have shape {(n, h, w)}, got {tuple(self.target_map.shape)}")
            return normalize(self.target_map.detach().to(x.device).float())
        if self.target_map == "random":
            side = max(1, round((self.patch * h * w) ** 0.5))
            g = torch.Generator().manual_seed(self.seed)
            out = torch.zeros(n, h, w, device=x.device)
            for i in range(n):
                r, c = (int(v) for v in torch.randint(0, max(1, h - side + 1), (2,), generator=g))
                out[i, r:r + side, c:c + side] = 1.0
            return out
        with torch.no_grad():
            pred = model(x).argmax(1)
        return normalize((interpreter or self.interpreters[0]).attribute(x.detach(), pred))

    def prepare(self, model, x, y):
        from ..core.maps import normalize
        targets = [self.target_maps(model, x, it) for it in self.interpreters]
        warm = {}
        for i, it in enumerate(self.interpreters):
            if getattr(it, "lookahead", None):
                with torch.no_grad():
                    pred = model(x).argmax(1)
                warm[i] = {"init": it.attribute(x.detach(), pred)}

        def loss(x_adv):
            ce = F.cross_entropy(model(x_adv), y, reduction="none")
            term = sum(((normalize(it.attribute(x_adv, y, differentiable=True, **warm.get(i, {}))) - m) ** 2)
                       .flatten(1).mean(1) for i, (it, m) in enumerate(zip(self.interpreters, targets)))
            return -(ce + self.lam * term / len(self.interpreters))
        return loss

    def __call__(self, model, x_adv, x, y):
        return self.prepare(model, x, y)(x_adv)


worst_discrepancy = WorstDiscrepancy()
aai = AttackOnInterpretation()

OBJECTIVES = {"ce": cross_entropy, "targeted_ce": targeted_cross_entropy, "trades_kl": trades_kl,
              "margin": margin, "targeted_margin": targeted_margin, "worst_discrepancy": worst_discrepancy,
              "aai": aai}
TARGETED = {"ce": "targeted_ce", "margin": "targeted_margin"}   # the targeted twin of a name
_ACCEPTED = "a name in " + ", ".join(OBJECTIVES) + " or a callable (model, x_adv, x, y) -> loss of shape (N,)"


def resolve(loss, targeted: bool):
    """The objective for ``loss`` and its name, as every attack resolves ``loss=`` (chapters 1, 4–6).

    ``None``: ``"targeted_ce"`` if ``targeted`` else ``"ce"``. A name with a targeted twin
    (``"ce"``, ``"margin"``) becomes the twin when ``targeted``; a targeted name without
    ``targeted=True``, or ``"trades_kl"`` with it, is refused."""
    if loss is None:
        loss = "ce"
    if callable(loss) and not isinstance(loss, str):
        return loss, getattr(loss, "__name__", type(loss).__name__)
    if not isinstance(loss, str) or loss not in OBJECTIVES:
        raise ValueError(f"loss must be {_ACCEPTED}; got {loss!r}")
    if targeted:
        loss = TARGETED.get(loss, loss)
        if loss not in TARGETED.values():
            raise ValueError(f"loss {loss!r} has no target; accepted with targeted=True: "
                             f"{', '.join(TARGETED.values())} or a callable")
    elif loss in TARGETED.values():
        raise ValueError(f"loss {loss!r} moves toward the classes in y; pass targeted=True with it "
                         f"(or use {', '.join(TARGETED)} for an untargeted attack)")
    return OBJECTIVES[loss], loss


def prepare(objective, model, x, y):
    """``x_adv -> loss`` for one batch of clean images ``x`` (through the objective's ``prepare``
    if it has one), checking that the loss has one value per example, shape (N,): what the
    attacks' loops call at every step (chapters 1, 4–6)."""
    hook = getattr(objective, "prepare", None)
    fn = hook(model, x, y) if callable(hook) else (lambda x_adv: objective(model, x_adv, x, y))
    n = x.shape[0]

    def loss(x_adv):
        value = fn(x_adv)
        if not isinstance(value, torch.Tensor) or value.shape != (n,):
            got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"loss must return one value per example, a tensor of shape ({n},); got {got}")
        return value
    return loss
