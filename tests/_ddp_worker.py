"""Run by tests/test_ddp.py under ``torchrun --nproc_per_node 2``: tiny data-parallel trainings on CPU
(gloo). Each rank saves what it ended with; rank 0 alone writes the zoo's files."""
import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

import advlab as al
from advlab.zoo import recipes, store, training


class TinyNet(nn.Module):
    """No batch norm: with it each rank would normalise with its shard's statistics."""

    def __init__(self, num_classes: int = 4):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def tiny_sets():
    g = torch.Generator().manual_seed(0)
    return {s: al.data.TensorSet(torch.rand(40, 3, 8, 8, generator=g), torch.arange(40) % 4, "cifar10", s,
                                 "synthetic") for s in ("train", "test")}


FIT = dict(epochs=2, batch_size=8, lr=0.05, optimizer="sgd", weight_decay=5e-4, augment="crop_flip", seed=0)
RECIPE = dict(FIT, description="tiny data-parallel test model", kind="classifier", objective="ce",
              arch="tiny_ddp", arch_kwargs={}, dataset="cifar10", schedule="onecycle", label_smoothing=0.0,
              adversarial=None, robust_eval={"attack": "pgd", "eps": 8 / 255, "steps": 2, "alpha": 2 / 255, "n": 8})


def install(root: Path, sets: dict, setattr_=setattr) -> None:
    """Point the zoo at ``root`` and at the tiny data, architecture and recipe."""
    setattr_(al.data, "tensors", lambda name, split="test", download=False: sets[split])
    setattr_(store, "WEIGHTS", root / "weights")
    setattr_(store, "MANIFEST", root / "manifest.json")
    al.models.ARCHITECTURES["tiny_ddp"] = TinyNet
    recipes.RECIPES["tiny_ddp"] = RECIPE


def fit_all(sets, out: Path, tag: str) -> None:
    """Standard and PGD-AT training on tensors; each rank saves its parameters."""
    rank = al.train.ddp.rank()
    for name, objective in [("ce", al.train.CrossEntropy()),
                            ("at", al.train.make("pgd_at", eps=0.1, steps=2, alpha=0.05, ramp_epochs=1))]:
        torch.manual_seed(0)
        model = al.train.fit(TinyNet(), sets["train"], objective, **FIT, device="cpu", progress=False).model
        torch.save(model.state_dict(), out / f"{tag}_{name}_rank{rank}.pt")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    os.environ["ADVLAB_DATA"] = str(out / "data")
    sets = tiny_sets()
    install(out, sets)
    assert al.train.ddp.init() and al.train.ddp.world_size() == 2
    fit_all(sets, out, "ddp")
    entry = training.train("tiny_ddp", device="cpu", progress=False)
    (out / f"zoo_rank{al.train.ddp.rank()}.json").write_text(json.dumps(entry))
    al.train.ddp.cleanup()
