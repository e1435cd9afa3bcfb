"""Train a zoo model from its recipe, resumably, and record it in the manifest.

Run ``python -m advlab.zoo train NAME``. A checkpoint is written after every
epoch under ``$ADVLAB_DATA/checkpoints``; a second run continues from it.
Uses a GPU when one is available.
"""
from __future__ import annotations

import datetime
import platform
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import attacks, data, metrics, models
from . import store
from .recipes import RECIPES


def _augment_crop_flip(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 4-pixel-padded crops and horizontal flips, on a whole batch."""
    n, _, h, w = xb.shape
    padded = F.pad(xb, (4, 4, 4, 4), mode="reflect")
    dx = torch.randint(0, 9, (n,), generator=gen).tolist()
    dy = torch.randint(0, 9, (n,), generator=gen).tolist()
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def hardware() -> str:
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"


def train(name: str, device: str | None = None, resume: bool = True, progress: bool = True) -> dict:
    """Train ``name`` from its recipe; returns the manifest entry written."""
    from ..core import checks
    checks.choice(name, "model name", RECIPES)
    r = RECIPES[name]
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(r["seed"])
    gen = torch.Generator().manual_seed(r["seed"])
    train_set = data.tensors(r["dataset"], "train")
    test_set = data.tensors(r["dataset"], "test")
    model = models.build(r["arch"], **r["arch_kwargs"]).to(device)
    channels_last = getattr(model, "preferred_memory_format", None) == torch.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if r["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9, nesterov=True,
                              weight_decay=r["weight_decay"])
    else:
        opt = torch.optim.Adam(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
    n = len(train_set)
    steps_per_epoch = n // r["batch_size"]
    total = steps_per_epoch * r["epochs"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["lr"], total_steps=total, pct_start=0.25)
    start_epoch, seconds = 0, 0.0
    ckpt = store.checkpoint_path(name)
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"]); gen.set_state(state["gen"])
        start_epoch, seconds = state["epoch"], state["seconds"]
        print(f"resuming {name} from epoch {start_epoch} ({ckpt})")
    adv = r["adversarial"]
    for epoch in range(start_epoch, r["epochs"]):
        t0 = time.time()
        model.train()
        perm = torch.randperm(n, generator=gen)
        bar = tqdm(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{r['epochs']}",
                   disable=not progress, mininterval=5)
        for it in bar:
            idx = perm[it * r["batch_size"]:(it + 1) * r["batch_size"]]
            xb, yb = train_set.x[idx], train_set.y[idx]
            if r["augment"] == "crop_flip":
                xb = _augment_crop_flip(xb, gen)
            xb, yb = xb.to(device), yb.to(device)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            if adv:
                ramp = min(1.0, (epoch * steps_per_epoch + it + 1) / (adv["ramp_epochs"] * steps_per_epoch))
                eps = adv["eps"] * ramp
                atk = attacks.make(adv["attack"], model, eps=eps, norm=adv["norm"],
                                   **attacks.steps_for(adv["attack"], adv["steps"]),
                                   alpha=adv["alpha"] * ramp,
                                   random_start=adv.get("random_start", adv["attack"] == "pgd"), seed=r["seed"] * 10**6 + epoch * steps_per_epoch + it)
                xb = atk(xb, yb)
            if hasattr(model, "loss"):  # models with their own training objective (ProtoPNet)
                loss = model.loss(xb, yb, label_smoothing=r["label_smoothing"])
            else:
                loss = F.cross_entropy(model(xb), yb, label_smoothing=r["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if it % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        seconds += time.time() - t0
        acc = metrics.accuracy(model, test_set.x[:2000], test_set.y[:2000], batch_size=500)
        print(f"{name} epoch {epoch + 1}: {time.time() - t0:.0f} s, test acc (first 2000) {acc:.4f}", flush=True)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "gen": gen.get_state(), "epoch": epoch + 1, "seconds": seconds}, ckpt)
    if r.get("finalize") is not None:  # e.g. ProtoPNet's push and last-layer fine-tuning
        t0 = time.time()
        model.finalize(train_set.x.to(device), train_set.y.to(device), **r["finalize"])
        seconds += time.time() - t0
    model = model.to(memory_format=torch.contiguous_format).cpu().eval()
    entry = {
        "description": r["description"], "architecture": r["arch"], "arch_kwargs": r["arch_kwargs"],
        "dataset": r["dataset"], "dataset_variant": train_set.variant, "recipe": r, "seed": r["seed"],
        "params": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(seconds, 1), "hardware": hardware(), "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
    }
    entry.update(store.evaluate(model, name, r, test_set))
    store.save(name, model, entry)
    return entry
