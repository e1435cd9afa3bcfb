"""The training loop: one for every model of the book, the objective says what is minimised.

``fit`` shuffles with a seeded generator, augments, asks the objective for the batch's loss,
steps the optimiser and its one-cycle schedule, and writes a checkpoint after every epoch;
a second call with the same checkpoint continues where the first stopped. It uses a GPU when
one is there and, under ``torchrun``, trains data-parallel (see :mod:`advlab.train.ddp`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from ..core import checks, frozen_eval
from . import ddp
from .augment import AUGMENTS
from .objectives import Context, Objective

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("onecycle",)


class FitResult(NamedTuple):
    model: nn.Module       # the trained model, in eval mode and contiguous memory format, on ``device``
    seconds: float         # training time over all runs (resumed ones included), evaluation excluded


class _Step(nn.Module):
    """The model and its objective as one module, so that DDP sees the whole loss as a forward
    (ProtoPNet's loss calls methods other than ``forward``; its gradients are synchronised too)."""

    def __init__(self, model: nn.Module, objective: Objective):
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, x, y, context):
        return self.objective.loss(self.model, x, y, context)


def _optimizer(name, params, lr, weight_decay):
    checks.choice(name, "optimizer", OPTIMIZERS)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def fit(model: nn.Module, train, objective: Objective, *, epochs: int, batch_size: int, lr: float,
        optimizer: str = "sgd", weight_decay: float = 0.0, schedule: str = "onecycle", augment: str | None = None,
        seed: int = 0, device=None, checkpoint: str | Path | None = None, resume: bool = True,
        progress: bool = True, name: str = "model", evaluate: Callable[[nn.Module], str] | None = None,
        parent: nn.Module | None = None) -> FitResult:
    """Train ``model`` on ``train`` (a ``TensorSet`` or an ``(x, y)`` pair of tensors) with ``objective``.

    ``seed`` drives the order, the augmentation and the attacks' random starts; seed the model's
    initialisation yourself (``torch.manual_seed`` before building it), as the zoo does.
    ``evaluate(model) -> str`` is printed after every epoch (rank 0 only). ``parent`` (a classifier an
    explainer or generator is trained against) reaches the objective as ``context.parent`` and its
    classes, not the trained model's outputs, bound the labels. The last incomplete
    batch of an epoch is dropped. Under ``torchrun`` (after ``ddp.init()``) each of the W ranks
    takes ``batch_size / W`` images of every global batch and DDP averages the gradients, so W
    processes train the model one process would, up to floating-point rounding (batch-norm
    statistics excepted: each rank normalises with its shard's).

    >>> fit(model, al.data.tensors("mnist", "train"), CrossEntropy(), epochs=3, batch_size=128, lr=1e-3,
    ...     optimizer="adam", checkpoint="mnist.ckpt")
    """
    if hasattr(train, "x"):
        x_all, y_all = train.x, train.y
    elif isinstance(train, (tuple, list)) and len(train) == 2:
        x_all, y_all = train
    else:
        raise ValueError(f"train must be a TensorSet or an (x, y) pair of tensors, got {type(train).__name__}")
    checks.model(model)
    checks.images(x_all, "train images")
    if not isinstance(y_all, torch.Tensor) or y_all.dim() != 1 or len(x_all) != len(y_all):
        got = f"shape {tuple(y_all.shape)}" if isinstance(y_all, torch.Tensor) else type(y_all).__name__
        raise ValueError(f"train labels must be a 1-D tensor of as many labels as images "
                         f"({len(x_all)}), got {got}")
    seed = checks.seed(seed)
    lr = checks.number(lr, "lr", 0.0, 1e3)
    weight_decay = checks.number(weight_decay, "weight_decay", 0.0, 1.0)
    resume, progress = checks.flag(resume, "resume"), checks.flag(progress, "progress")
    checks.choice(augment, "augment", AUGMENTS)
    checks.choice(schedule, "schedule", SCHEDULES)
    epochs = checks.number(epochs, "epochs", 0, 100_000, integer=True)
    world, rank = ddp.world_size(), ddp.rank()
    batch_size = checks.number(batch_size, "batch_size", 1, len(x_all), integer=True)
    if batch_size % world:
        raise ValueError(f"batch_size must be a multiple of the number of processes ({world}), got {batch_size}")
    device = checks.device(device) if device is not None else ddp.device()
    if world > 1 and device.type == "cuda" and device.index is None:
        device = ddp.device()  # "cuda" under torchrun: this rank's own GPU
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    probe = x_all[:1].to(device)
    checks.model_input(model, probe, "train images")
    judge = parent if parent is not None else model  # an explainer's labels are its parent's classes
    with frozen_eval(judge), torch.no_grad():  # a classifier's labels must be among its logits
        out = judge(probe.to(next(judge.parameters()).device))
    classes = int(out.shape[1]) if isinstance(out, torch.Tensor) and out.dim() == 2 else None
    y_all = checks.labels(y_all, len(x_all), classes, name="train labels")
    # Channels-last only on a GPU: on the CPU, torch 2.14.1's channels-last convolution backward gave
    # run-to-run different weights with 2 threads and corrupted the heap with 1 (measured here).
    channels_last = (getattr(model, "preferred_memory_format", None) == torch.channels_last
                     and device.type == "cuda")
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if parent is not None:
        parent = parent.to(device).eval()
    opt = _optimizer(optimizer, model.parameters(), lr, weight_decay)
    steps_per_epoch = len(x_all) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps_per_epoch * epochs),
                                                pct_start=0.25)
    start_epoch, seconds = 0, 0.0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt is not None and ckpt.is_file():
        state = torch.load(ckpt, map_location=device)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"]); gen.set_state(state["gen"])
        if "objective" in state:
            objective.load_state_dict(state["objective"])  # type: ignore[attr-defined]
        start_epoch, seconds = state["epoch"], state["seconds"]
        if rank == 0:
            print(f"resuming {name} from epoch {start_epoch} ({ckpt})")
    step: nn.Module = _Step(model, objective)
    if world > 1:
        step = nn.parallel.DistributedDataParallel(step)
    shard = batch_size // world
    augment_fn = AUGMENTS[augment]
    for epoch in range(start_epoch, epochs):
        t0 = time.time()
        step.train()
        perm = torch.randperm(len(x_all), generator=gen)
        bar = tqdm(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{epochs}",
                   disable=not progress or rank != 0, mininterval=5)
        for it in bar:
            idx = perm[it * batch_size:(it + 1) * batch_size][rank * shard:(rank + 1) * shard]
            xb, yb = x_all[idx], y_all[idx]
            if augment_fn is not None:
                xb = augment_fn(xb, gen, n=batch_size, offset=rank * shard)
            xb, yb = xb.to(device), yb.to(device)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            context = Context(epoch=epoch, step=epoch * steps_per_epoch + it, steps_per_epoch=steps_per_epoch,
                              epochs=epochs, seed=seed, rank=rank, world_size=world, parent=parent)
            loss = step(xb, yb, context)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if it % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        seconds += time.time() - t0
        if rank == 0:
            note = f", {evaluate(model)}" if evaluate is not None else ""
            print(f"{name} epoch {epoch + 1}: {time.time() - t0:.0f} s{note}", flush=True)
            if ckpt is not None:
                _save_checkpoint(ckpt, model, opt, sched, gen, objective, epoch + 1, seconds)
        ddp.barrier()
    if type(objective).finalize is not Objective.finalize:  # e.g. ProtoPNet's push and last layer
        t0 = time.time()
        if rank == 0:
            objective.finalize(model, x_all.to(device), y_all.to(device))
        ddp.broadcast_state(model)
        seconds += time.time() - t0
    return FitResult(model.to(memory_format=torch.contiguous_format).eval(), seconds)


def _save_checkpoint(path, model, opt, sched, gen, objective, epoch, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
             "gen": gen.get_state(), "epoch": epoch, "seconds": seconds}
    if hasattr(objective, "state_dict"):
        state["objective"] = objective.state_dict()
    torch.save(state, path)
