"""A stronger yardstick for a classifier's robust accuracy: the core of AutoAttack.

``python -m advlab.zoo.strong NAME [NAME ...]`` attacks the images a model's ``robust_eval`` names
(the first ``n`` test images; the bundled subset when ``n`` ≤ 1,000) at its ε and norm with its PGD,
with APGD-CE and with targeted APGD-DLR (Croce & Hein 2020, 100 steps, 1 restart, 9 target classes,
through torchattacks), and records per-attack counts and the worst case per image in the manifest
(``evaluations["strong"]``) beside the PGD figure. A gap of more than a few points means the PGD
figure overstates the model's robustness (a weak attack, or gradient masking).
"""
from __future__ import annotations

import argparse
import time

import torch

from .. import data, metrics
from . import store
from .training import hardware

STEPS = 100


def strong_eval(name: str, device=None, seed: int = 0) -> dict:
    """Measure and record ``name``'s accuracy under its recipe's PGD, APGD-CE and APGD-T DLR."""
    import torchattacks

    from . import load
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    e = store.entry(name)
    spec = e["recipe"]["robust_eval"]
    n, eps, norm = spec["n"], float(spec["eps"]), spec.get("norm", "linf")
    model = load(name).to(device)
    ts = data.subset(e["dataset"]) if n <= 1000 else data.tensors(e["dataset"], "test")
    x, y = ts.x[:n].to(device), ts.y[:n].to(device)
    batch = max(256, store.eval_batch(model))
    t0 = time.perf_counter()
    pgd = metrics.correct(model, x, y, store.robust_attack(model, spec), batch_size=batch)
    tnorm = "Linf" if norm == "linf" else "L2"
    ce = metrics.correct(model, x, y, torchattacks.APGD(model, norm=tnorm, eps=eps, steps=STEPS, seed=seed, loss="ce"),
                         batch_size=batch)
    dlr = metrics.correct(model, x, y, torchattacks.APGDT(model, norm=tnorm, eps=eps, steps=STEPS, seed=seed,
                                                          n_classes=int(model(x[:1]).shape[1])), batch_size=batch)
    result = {"n": n, "eps": eps, "norm": norm, "images": f"first {n} test images ({ts.variant})",
              "attacks": f"{spec['attack'].upper()}-{spec['steps']} as in robust_eval; APGD-CE and APGD-T DLR "
                         f"({STEPS} steps, 1 restart; torchattacks)",
              "pgd": int(pgd.sum()), "apgd_ce": int(ce.sum()), "apgd_t_dlr": int(dlr.sum()),
              "worst": int((pgd & ce & dlr).sum()), "seconds": round(time.perf_counter() - t0, 1),
              "hardware": hardware(), "torch": torch.__version__}
    store.record_evaluation(name, "strong", result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m advlab.zoo.strong", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    for name in args.names:
        r = strong_eval(name, args.device)
        print(f"{name}: PGD {r['pgd']}/{r['n']}, APGD-CE {r['apgd_ce']}, APGD-T {r['apgd_t_dlr']}, "
              f"worst {r['worst']} ({r['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
