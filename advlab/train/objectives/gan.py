"""InterpretGAN's objective (Zheng et al.), chapter 7: a GAN whose generator also has to keep the
classifier's decision, so that an explanation shows what the classifier uses at a layer."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ...core import checks, frozen_eval
from .base import Context, Objective


class InterpretGANLoss(Objective):
    """InterpretGAN (chapter 7): trains an ``advlab.models.ExplanationGenerator`` x̂ = G(C(h_l(x)))
    against ``context.parent`` (the classifier f), after Zheng et al.'s Eq. (4): min_G max_D V(D, G) − λ·L_I(G), with

        V(D, G) = E_x[log D(x)] + E_x[log(1 − D(x̂))]        (the GAN game on MNIST digits)
        L_I(G)  = E_x Σ_y f(y | x) log f(y | x̂)              (the variational bound on I(x̂; f(x)))

    i.e. the generator's loss is the non-saturating GAN loss plus λ times the cross-entropy of f
    on x̂ against f's own soft prediction on x. Each ``loss`` call first takes one step of the
    discriminator (its own Adam, lr ``d_lr``, β₁ = 0.5) on the batch and the detached explanations,
    then returns the generator's loss; the discriminator is checkpointed with the generator
    (``state_dict``). Single-process only: under data-parallel training each rank would keep its
    own discriminator.
    """

    name = "interpret_gan"
    requires = "explain_latent"

    def __init__(self, lam: float = 1.0, d_lr: float = 2e-4, d_width: int = 32):
        self.lam = checks.number(lam, "lam", 0.0, 1e4)
        self.d_lr = checks.number(d_lr, "d_lr", 0.0, 1.0)
        self.d_width = checks.number(d_width, "d_width", 1, 1024, integer=True)
        self._d: torch.nn.Module | None = None
        self._opt: torch.optim.Optimizer | None = None
        self._pending: dict | None = None

    def discriminator(self, device) -> torch.nn.Module:
        """The discriminator (built on first use, on ``device``; a checkpoint's state loaded then)."""
        if self._d is None:
            from ...models.interpretgan import Discriminator
            self._d = Discriminator(width=self.d_width).to(device)
            self._opt = torch.optim.Adam(self._d.parameters(), lr=self.d_lr, betas=(0.5, 0.999))
            if self._pending is not None:
                self._d.load_state_dict(self._pending["d"])
                self._opt.load_state_dict(self._pending["opt"])
                self._pending = None
        return self._d

    def state_dict(self) -> dict:
        if self._d is None or self._opt is None:
            return dict(self._pending or {})
        return {"d": self._d.state_dict(), "opt": self._opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        if self._d is None:
            self._pending = state
        else:
            assert self._opt is not None
            self._d.load_state_dict(state["d"])
            self._opt.load_state_dict(state["opt"])

    def loss(self, model, x, y, context: Context):
        parent = context.parent
        if parent is None:
            raise ValueError("context.parent must be the classifier to explain (the zoo passes the recipe's "
                             "parent), got None")
        if not hasattr(model, self.requires):
            raise ValueError(f"model must be an ExplanationGenerator (advlab.models.ExplanationGenerator), "
                             f"got {type(model).__name__}")
        d = self.discriminator(x.device)
        with torch.no_grad(), frozen_eval(parent):
            h = model.latent(x)
            soft = F.softmax(parent(x), 1)
        fake = model.explain_latent(h)
        d_loss = F.softplus(-d(x)).mean() + F.softplus(d(fake.detach())).mean()
        assert self._opt is not None
        self._opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self._opt.step()
        for p in d.parameters():
            p.requires_grad_(False)
        try:
            adv = F.softplus(-d(fake)).mean()
        finally:
            for p in d.parameters():
                p.requires_grad_(True)
        with frozen_eval(parent):
            keep = -(soft * F.log_softmax(parent(fake), 1)).sum(1).mean()
        return adv + self.lam * keep

    @torch.no_grad()
    def evaluate(self, model, parent, x, y, seed: int = 0, batch_size: int = 500) -> dict:
        """How the explanations of images ``x`` (labels ``y``) are classified by ``parent``: the share
        that gets the label, the share that gets the parent's own prediction on ``x``, and the mean
        absolute pixel difference between explanation and image (``seed`` is unused: deterministic)."""
        hits = agree = clean = 0
        l1 = 0.0
        with frozen_eval(model), frozen_eval(parent):
            for i in range(0, len(x), batch_size):
                xb, yb = x[i:i + batch_size], y[i:i + batch_size]
                xh = model(xb)
                pred, pred_h = parent(xb).argmax(1), parent(xh).argmax(1)
                clean += int((pred == yb).sum())
                hits += int((pred_h == yb).sum())
                agree += int((pred_h == pred).sum())
                l1 += float((xh - xb).abs().mean((1, 2, 3)).sum())
        n = len(x)
        return {"clean_accuracy": round(clean / n, 4), "explanation_accuracy": round(hits / n, 4),
                "explanation_agreement": round(agree / n, 4), "mean_abs_pixel_difference": round(l1 / n, 4),
                "n": n}

    @classmethod
    def from_recipe(cls, recipe: dict) -> InterpretGANLoss:
        return cls(**recipe.get("interpret_gan", {}))
