"""Command line: ``python -m advlab.zoo list | train NAME | verify``."""
from __future__ import annotations

import argparse
import sys

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m advlab.zoo", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the zoo's models with their manifest figures")
    t = sub.add_parser("train", help="train NAME from its recipe (resumes from its checkpoint)")
    t.add_argument("name")
    t.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    v = sub.add_parser("verify", help="check every sha256 and re-measure clean accuracy on the full test set")
    v.add_argument("--subset", action="store_true",
                   help="measure on the bundled 1,000-image subsets instead of the full test sets")
    v.add_argument("--robust", action="store_true", help="also re-measure robust accuracy")
    args = p.parse_args(argv)

    from . import RECIPES, load, manifest
    from .store import WeightsError, robust_attack, weight_file

    if args.cmd == "list":
        m = manifest()
        print(f"{'name':16} {'dataset':9} {'clean':>7} {'robust':>7} {'train s':>8}  description")
        for name in sorted(set(m) | set(RECIPES)):
            e = m.get(name)
            if e is None:
                print(f"{name:16} {RECIPES[name]['dataset']:9} {'(not trained)':>24}")
                continue
            print(f"{name:16} {e['dataset']:9} {e['clean_accuracy']:7.2%} {e['robust_accuracy']:7.2%} "
                  f"{e['train_seconds']:8.0f}  {e['description']}")
        return 0
    if args.cmd == "train":
        if args.threads:
            torch.set_num_threads(args.threads)
        from .train import train
        e = train(args.name, device=args.device, resume=not args.restart)
        print(f"{args.name}: clean {e['clean_accuracy']:.2%} ({e['clean_eval']}), "
              f"robust {e['robust_accuracy']:.2%} ({e['robust_eval']}), {e['train_seconds']:.0f} s")
        return 0
    # verify
    from .. import data, metrics
    ok = True
    print(f"{'name':16} {'sha256':7} {'clean (manifest)':>17} {'clean (now)':>12} {'robust (manifest)':>18} "
          f"{'robust (now)':>13}  set")
    for name, e in sorted(manifest().items()):
        try:
            weight_file(name)
            sha_ok = "ok"
        except WeightsError as err:
            print(f"{name:16} FAILED  {err}")
            ok = False
            continue
        model = load(name)
        ts = data.subset(e["dataset"]) if args.subset else data.tensors(e["dataset"], "test")
        clean = metrics.accuracy(model, ts.x, ts.y)
        robust = "-"
        if args.robust:
            spec = e["recipe"]["robust_eval"]
            n = spec["n"]
            robust = f"{metrics.robust_accuracy(model, robust_attack(model, spec), ts.x[:n], ts.y[:n]):.2%}"
        print(f"{name:16} {sha_ok:7} {e['clean_accuracy']:17.2%} {clean:12.2%} {e['robust_accuracy']:18.2%} "
              f"{robust:>13}  {ts.name} {ts.split} ({len(ts)} images, {ts.variant})")
        if not args.subset and abs(clean - e["clean_accuracy"]) > 1e-3:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
