"""Chapter 4: proper interpretability helps robustness (Boopathy et al., ICML 2020), at MNIST scale.

The paper's numbers live here once (``PAPER_TABLE1``, ``PAPER_AAI``). The full-test-set robustness
table is measured once, after training, by ``python -m advlab.studies.ch04_robust_interpretation
evaluate NAME`` (``scripts/train_ch04.sh`` runs it; a GPU when there is one) and recorded in the
zoo's manifest beside the weights: PGD-200 at every ε of the paper's Table 1 and, at every ε > 0,
the core of AutoAttack (APGD-CE and targeted APGD-DLR, through torchattacks) on the same images.
The chapter reads that record, and re-measures a seeded sample live when the book is built.
"""
from __future__ import annotations

import argparse
import time

import torch

from .. import attacks, data, metrics, zoo
from ..zoo import store
from ..zoo.training import hardware

EPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.4)
TRAIN_EPS = 0.3
MODELS = {"Normal": "mnist_small_normal", "Adv": "mnist_small_adv", "TRADES": "mnist_small_trades",
          "Int2": "mnist_small_int2", "Int2-Adv": "mnist_small_int2_adv"}

# Boopathy et al. 2020, Table 1 (MNIST, small model): accuracy under 200-step PGD at EPS.
PAPER_TABLE1 = {
    "Normal": (1.000, 0.530, 0.045, 0.000, 0.000, 0.000, 0.000),
    "Adv": (0.980, 0.960, 0.940, 0.925, 0.890, 0.010, 0.000),
    "TRADES": (0.970, 0.970, 0.955, 0.930, 0.885, 0.000, 0.000),
    "Int": (0.950, 0.930, 0.905, 0.840, 0.790, 0.180, 0.140),
    "Int2": (0.950, 0.945, 0.935, 0.890, 0.845, 0.555, 0.385),
    "Int2-Adv": (0.955, 0.925, 0.915, 0.880, 0.840, 0.655, 0.620),
}
# Table 3 (MNIST, small model): Kendall's τ between the clean and the AAI-attacked CAM, at EPS[1:].
PAPER_AAI = {
    "Normal": (0.907, 0.797, 0.366, -0.085, -0.085, -0.085),
    "Adv": (0.978, 0.955, 0.910, 0.857, 0.467, 0.136),
    "TRADES": (0.978, 0.955, 0.905, 0.847, 0.450, 0.115),
    "Int": (0.982, 0.968, 0.941, 0.913, 0.504, 0.320),
    "Int2": (0.982, 0.967, 0.941, 0.918, 0.612, 0.351),
    "Int2-Adv": (0.982, 0.971, 0.950, 0.931, 0.709, 0.503),
}
PGD_STEPS, PGD_ALPHA, APGD_STEPS = 200, 0.01, 100


def pgd(model, eps: float, steps: int = PGD_STEPS, alpha: float = PGD_ALPHA, seed: int = 0, batch_size=None):
    """The chapter's yardstick: L∞ PGD, ``steps`` steps of ``alpha``, one random start (the paper's
    Table 1 attack). ε = 0 gives None (clean accuracy)."""
    if eps == 0:
        return None
    return attacks.PGD(model, eps=eps, steps=steps, alpha=alpha, seed=seed,
                       batch_size=batch_size or store.eval_batch(model))


def _torchattacks_correct(model, atk, x, y, batch: int) -> torch.Tensor:
    out = []
    for i in range(0, len(x), batch):
        xa = atk(x[i:i + batch], y[i:i + batch])
        out.append(metrics.predict(model, xa, batch).cpu() == y[i:i + batch].cpu())
    return torch.cat(out)


def robustness(model, x, y, eps=EPS, seed: int = 0) -> dict:
    """Per ε: images classified correctly under PGD-200, under APGD-CE and targeted APGD-DLR
    (``APGD_STEPS`` steps, 1 restart, 9 target classes) and under all three (the worst case per
    image). Counts, so intervals can be computed from them; ``n`` images in all."""
    import torchattacks
    batch = max(256, store.eval_batch(model))
    rows = []
    for e in eps:
        t0 = time.perf_counter()
        ok = metrics.correct(model, x, y, pgd(model, e, seed=seed), batch_size=batch)
        row = {"eps": e, "pgd200": int(ok.sum())}
        if e > 0:
            ce = _torchattacks_correct(model, torchattacks.APGD(model, eps=e, steps=APGD_STEPS, seed=seed,
                                                                loss="ce"), x, y, batch)
            dlr = _torchattacks_correct(model, torchattacks.APGDT(model, eps=e, steps=APGD_STEPS, seed=seed,
                                                                  n_classes=10), x, y, batch)
            row.update(apgd_ce=int(ce.sum()), apgd_t_dlr=int(dlr.sum()), worst=int((ok & ce & dlr).sum()))
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
    return {"n": len(y), "attacks": f"PGD-{PGD_STEPS} (step {PGD_ALPHA}, 1 random start); APGD-CE and "
                                     f"APGD-T DLR ({APGD_STEPS} steps, 1 restart; torchattacks)",
            "rows": rows}


def evaluate(name: str, device=None) -> dict:
    """Measure ``robustness`` of zoo model ``name`` on the full MNIST test set and record it in the
    manifest (``evaluations["table1"]``)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = zoo.load(name).to(device)
    test = data.tensors("mnist", "test")
    result = robustness(model, test.x.to(device), test.y.to(device))
    result.update(images=f"full mnist test set ({len(test)} images)", hardware=hardware())
    store.record_evaluation(name, "table1", result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m advlab.studies.ch04_robust_interpretation")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="measure a chapter-4 model's robustness table and record it")
    ev.add_argument("name", choices=sorted(MODELS.values()))
    ev.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    result = evaluate(args.name, args.device)
    for row in result["rows"]:
        print(args.name, row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
