"""Command line: ``python -m advlab.zoo list | train NAME | verify [NAME ...]``.

Under ``torchrun`` ``train`` runs data-parallel: ``torchrun --nproc_per_node 2 -m advlab.zoo train NAME``.
Every error is one line on stderr and a non-zero exit status (2: bad arguments, missing data or
manifest faults; 1: ``verify`` found a weight file or an accuracy that does not match).
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

PROG = "python -m advlab.zoo"


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _device(value: str) -> str:
    from ..core import checks
    try:
        checks.device(value, "--device")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def _threads(value: str) -> int:
    from ..core import checks
    most = max(1, 4 * (os.cpu_count() or 1))
    try:
        return checks.number(int(value), "--threads", 1, most, integer=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads must be an integer in [1, {most}], got {value!r}") from None


def _pct(e: dict, key: str) -> str:
    return f"{e[key]:.2%}" if e.get(key) is not None else "-"


def main(argv=None) -> int:
    p = _Parser(prog=PROG, description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the zoo's models with their manifest figures")
    t = sub.add_parser("train", help="train NAME from its recipe (resumes from its checkpoint)")
    t.add_argument("name")
    t.add_argument("--device", type=_device, default=None, help="cpu, cuda, ... (default: cuda if available)")
    t.add_argument("--threads", type=_threads, default=None, help="torch CPU threads (a positive integer)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    v = sub.add_parser("verify", help="check every sha256, then re-measure clean accuracy on the full test sets")
    v.add_argument("names", nargs="*", help="models to verify (default: all)")
    v.add_argument("--subset", action="store_true",
                   help="measure on the bundled 1,000-image subsets instead of the full test sets")
    v.add_argument("--robust", action="store_true", help="also re-measure robust accuracy")
    try:
        args = p.parse_args(argv)
    except SystemExit as stop:  # argparse already printed its one line (or the help)
        return stop.code if isinstance(stop.code, int) else 2
    from .store import WeightsError
    try:
        return _run(args)
    except (ValueError, WeightsError, OSError) as err:  # unknown names, bad manifest or data: one line
        print(f"{PROG} {args.cmd}: error: {_one_line(err)}", file=sys.stderr)
        return 2


def _one_line(err: Exception) -> str:
    from ..data import DataNotFoundError
    if isinstance(err, DataNotFoundError):  # the API's fixes name download=True, which the CLI has not
        err_text = (f"{err.problem} Fix: set ADVLAB_DATASETS to a folder of offline copies "
                    f"(e.g. ../shared/datasets), or fetch the set once in Python with "
                    f"advlab.data.load(NAME, download=True) on a machine with internet.")
    else:
        err_text = str(err)
    return " ".join(err_text.split())


def _run(args) -> int:
    from . import RECIPES, entry, manifest
    if args.cmd == "list":
        m = manifest()
        print(f"{'name':24} {'kind':10} {'dataset':9} {'clean':>7} {'robust':>7} {'train s':>8}  description")
        for name in sorted(set(m) | set(RECIPES)):
            if name not in m:
                r = RECIPES[name]
                print(f"{name:24} {r['kind']:10} {r['dataset']:9} {'(not trained)':>24}")
                continue
            e = entry(name)  # a faulty entry fails here, naming the manifest
            parent = f" (parent: {e['parent']})" if e.get("parent") else ""
            secs = e.get("train_seconds")
            secs = f"{secs:8.0f}" if isinstance(secs, (int, float)) else f"{'-':>8}"
            print(f"{name:24} {e['kind']:10} {e['dataset']:9} {_pct(e, 'clean_accuracy'):>7} "
                  f"{_pct(e, 'robust_accuracy'):>7} {secs}  {e.get('description', '')}{parent}")
        return 0
    if args.cmd == "train":
        from ..train import ddp
        from .training import train
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        try:
            trained = train(args.name, device=args.device, resume=not args.restart)
        finally:
            ddp.cleanup()
        if trained is not None:  # rank 0 (or the only process)
            t = trained
            figures = (f"clean {t['clean_accuracy']:.2%} ({t['clean_eval']}), robust {t['robust_accuracy']:.2%} "
                       f"({t['robust_eval']}), " if t["kind"] == "classifier" else f"{t['kind']}, ")
            print(f"{args.name}: {figures}{t['train_seconds']:.0f} s")
        return 0
    return _verify(args, entry, manifest)


def _verify(args, entry, manifest) -> int:
    """First every requested weight file's sha256 (and that it loads), then accuracies where the data is."""
    from .. import data, metrics
    from . import load
    from .store import WEIGHTS, WeightsError, robust_attack, weight_file
    names = args.names or sorted(manifest())
    entries = {name: entry(name) for name in names}  # unknown names and bad entries fail before any work
    ok, models = True, {}
    print(f"sha256 of the weight files in {WEIGHTS}:")
    print(f"{'name':24} {'sha256':8} file")
    for name, e in entries.items():
        try:
            weight_file(name)
            models[name] = load(name)  # the weights fit the architecture (strict state-dict load)
        except (WeightsError, RuntimeError, ValueError) as err:
            print(f"{name:24} {'FAILED':8} {' '.join(str(err).split())}")
            ok = False
            continue
        print(f"{name:24} {'ok':8} {e['file']}")
    where = "the bundled 1,000-image subsets" if args.subset else "the full test sets"
    print(f"\naccuracy on {where}:")
    print(f"{'name':24} {'clean (manifest)':>17} {'clean (now)':>12} {'robust (manifest)':>18} "
          f"{'robust (now)':>13}  set")
    sets: dict = {}
    missing: dict[str, list[str]] = {}
    for name, model in models.items():
        e = entries[name]
        if e["kind"] != "classifier":
            print(f"{name:24} {'-':>17} {'-':>12} {'-':>18} {'-':>13}  ({e['kind']}: loads, no accuracy)")
            continue
        ds = e["dataset"]
        if ds not in sets:
            try:
                sets[ds] = data.subset(ds) if args.subset else data.tensors(ds, "test")
            except data.DataNotFoundError as err:
                sets[ds] = err
        if isinstance(sets[ds], data.DataNotFoundError):
            missing.setdefault(ds, []).append(name)
            print(f"{name:24} {_pct(e, 'clean_accuracy'):>17} {'not measured':>12} {_pct(e, 'robust_accuracy'):>18} "
                  f"{'-':>13}  ({ds} test set not available)")
            continue
        ts = sets[ds]
        clean = metrics.accuracy(model, ts.x, ts.y)
        robust = "-"
        if args.robust:
            spec = e["recipe"]["robust_eval"]
            n = spec["n"]
            robust = f"{metrics.robust_accuracy(model, robust_attack(model, spec), ts.x[:n], ts.y[:n]):.2%}"
        print(f"{name:24} {_pct(e, 'clean_accuracy'):>17} {clean:12.2%} {_pct(e, 'robust_accuracy'):>18} "
              f"{robust:>13}  {ts.name} {ts.split} ({len(ts)} images, {ts.variant})")
        if not args.subset and e.get("clean_accuracy") is not None and abs(clean - e["clean_accuracy"]) > 1e-3:
            ok = False
    for ds, names_ in missing.items():
        problem = sets[ds].problem
        print(f"{PROG} verify: error: accuracy of {', '.join(names_)} not measured: {' '.join(problem.split())} "
              f"Fix: set ADVLAB_DATASETS to a folder of offline copies (e.g. ../shared/datasets), or run "
              f"`{PROG} verify --subset` to measure on the bundled 1,000-image subsets.", file=sys.stderr)
    if missing:
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
