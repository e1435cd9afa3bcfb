"""Command line: ``python -m advlab.zoo list | train NAME | verify [NAME ...]``.

Under ``torchrun`` ``train`` runs data-parallel: ``torchrun --nproc_per_node 2 -m advlab.zoo train NAME``.
"""
from __future__ import annotations

import argparse
import sys

import torch


def _pct(e: dict, key: str) -> str:
    return f"{e[key]:.2%}" if e.get(key) is not None else "-"


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
    v.add_argument("names", nargs="*", help="models to verify (default: all)")
    v.add_argument("--subset", action="store_true",
                   help="measure on the bundled 1,000-image subsets instead of the full test sets")
    v.add_argument("--robust", action="store_true", help="also re-measure robust accuracy")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except ValueError as err:  # unknown names, bad recipes, missing data: one line, no traceback
        print(f"python -m advlab.zoo {args.cmd}: error: {err}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from . import RECIPES, entry, load, manifest
    from .store import WeightsError, robust_attack, weight_file

    if args.cmd == "list":
        m = manifest()
        print(f"{'name':24} {'kind':10} {'dataset':9} {'clean':>7} {'robust':>7} {'train s':>8}  description")
        for name in sorted(set(m) | set(RECIPES)):
            e = m.get(name)
            if e is None:
                r = RECIPES[name]
                print(f"{name:24} {r['kind']:10} {r['dataset']:9} {'(not trained)':>24}")
                continue
            parent = f" (parent: {e['parent']})" if e.get("parent") else ""
            print(f"{name:24} {e['kind']:10} {e['dataset']:9} {_pct(e, 'clean_accuracy'):>7} "
                  f"{_pct(e, 'robust_accuracy'):>7} {e['train_seconds']:8.0f}  {e['description']}{parent}")
        return 0
    if args.cmd == "train":
        if args.threads:
            torch.set_num_threads(args.threads)
        from ..train import ddp
        from .training import train
        try:
            e = train(args.name, device=args.device, resume=not args.restart)
        finally:
            ddp.cleanup()
        if e is not None:  # rank 0 (or the only process)
            figures = (f"clean {e['clean_accuracy']:.2%} ({e['clean_eval']}), robust {e['robust_accuracy']:.2%} "
                       f"({e['robust_eval']}), " if e["kind"] == "classifier" else f"{e['kind']}, ")
            print(f"{args.name}: {figures}{e['train_seconds']:.0f} s")
        return 0
    # verify
    from .. import data, metrics
    names = args.names or sorted(manifest())
    for name in names:
        entry(name)  # unknown names fail before any work
    ok = True
    print(f"{'name':24} {'sha256':7} {'clean (manifest)':>17} {'clean (now)':>12} {'robust (manifest)':>18} "
          f"{'robust (now)':>13}  set")
    for name in names:
        e = entry(name)
        try:
            weight_file(name)
        except WeightsError as err:
            print(f"{name:24} FAILED  {err}")
            ok = False
            continue
        model = load(name)  # the weights fit the architecture (strict state-dict load)
        if e["kind"] != "classifier":
            print(f"{name:24} {'ok':7} {'-':>17} {'-':>12} {'-':>18} {'-':>13}  ({e['kind']}: loads, no accuracy)")
            continue
        ts = data.subset(e["dataset"]) if args.subset else data.tensors(e["dataset"], "test")
        clean = metrics.accuracy(model, ts.x, ts.y)
        robust = "-"
        if args.robust:
            spec = e["recipe"]["robust_eval"]
            n = spec["n"]
            robust = f"{metrics.robust_accuracy(model, robust_attack(model, spec), ts.x[:n], ts.y[:n]):.2%}"
        print(f"{name:24} {'ok':7} {e['clean_accuracy']:17.2%} {clean:12.2%} {e['robust_accuracy']:18.2%} "
              f"{robust:>13}  {ts.name} {ts.split} ({len(ts)} images, {ts.variant})")
        if not args.subset and abs(clean - e["clean_accuracy"]) > 1e-3:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
