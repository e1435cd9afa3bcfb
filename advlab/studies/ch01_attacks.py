"""Chapter 1, adversarial examples: Madry et al.'s MNIST table and the seminar's attack table
at our scale. The papers' numbers are written here once; the chapter shows them beside ours.

Madry et al.'s restart rows, PGD's convergence in the number of steps and the evaluation checklist
(Carlini et al., 2019) attack the PGD-trained MNIST model about 4,300 times (two restart rows of
20 × 40 and 20 × 100 steps, targeted APGD on 9 classes, ...): on a seeded class-stratified sample
of ``RECORD_PER_CLASS`` images per digit drawn from the full test set, about half an hour on 2 CPU
cores (each step over the full test set takes 9 s there, which would be 11 hours).
``python -m advlab.studies.ch01_attacks`` records per-image outcomes in
``advlab/_data/ch01_madry.json`` (it needs the full MNIST test set: ``ADVLAB_DATASETS``), and the
chapter reads the record.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .. import attacks, data, metrics, report, zoo
from . import common
from .common import accuracy_vs_eps, attack_table, manifest_rates

#: Madry et al. 2018, MNIST, ε = 0.3, white-box attacks on their adversarially trained CNN,
#: accuracy (%) on the full test set (10,000 images).
MADRY_2018_MNIST = {"clean": 98.8, "FGSM": 95.6, "PGD-40": 93.2, "PGD-100": 91.8}
MNIST_TEST_N = 10_000
#: Madry et al.'s rows with 20 random restarts (accuracy %, full test set), step 0.01.
MADRY_2018_RESTARTS = {"PGD-40, 20 restarts": 90.4, "PGD-100, 20 restarts": 89.3}

RECORD = Path(__file__).resolve().parents[1] / "_data" / "ch01_madry.json"
RECORD_MODEL = "mnist_cnn_at"
RECORD_PER_CLASS = 50
#: PGD's convergence: the numbers of steps recorded (1 restart); the ε of the checklist's ε sweep.
CONVERGENCE_STEPS = (10, 20, 40, 100, 200)
CHECK_EPS = (0.1, 0.2, 0.3, 0.4)

#: The seminar's settings (attack, ε in 0–255 units, steps) and VGG16's accuracy (%) on its
#: 299 CUB-12 test images (chapter 2 adds the other two heads).
SEMINAR_SETTINGS = [("clean", 0, 0), ("fgsm", 2, 1), ("fgsm", 8, 1), ("bim", 2, 10), ("bim", 8, 10),
                    ("pgd", 2, 10), ("pgd", 8, 10), ("mim", 2, 10), ("mim", 8, 10)]
SEMINAR_VGG16 = [88.96, 39.46, 21.07, 10.37, 3.01, 5.35, 2.01, 13.38, 3.01]
SEMINAR_N = 299
ITERATIVE = ("bim", "pgd", "mim")
#: The attacks of the accuracy-vs-ε curves (one FGSM step; PGD, 10 steps of 0.04 from a random start).
CURVE_ATTACKS = {"FGSM": ("fgsm", {}), "PGD": ("pgd", {"steps": 10, "alpha": 0.04})}


def setting_name(attack: str, eps: int, steps: int) -> str:
    """The seminar's column name of a setting: ``FGSM (2,1)``, or ``clean``."""
    return "clean" if attack == "clean" else f"{attack.upper()} ({eps},{steps})"


def eps_curves(models: dict, eps, x, y) -> dict:
    """Accuracy (Rates) at each ε of every model (label → model) under ``CURVE_ATTACKS``, keyed
    ``(model label, attack)`` for :func:`advlab.plot.accuracy_curves`."""
    return {(label, name): accuracy_vs_eps(model, attack, eps, x, y, **kw)
            for label, model in models.items() for name, (attack, kw) in CURVE_ATTACKS.items()}


def madry_table(model, x, y, name: str = "mnist_cnn_at", sample: str | None = None) -> report.Table:
    """Madry et al.'s attacks at ε = 0.3 (FGSM; PGD-40 and PGD-100, step 0.01, random start) on
    ``model`` (the zoo's ``name``) and ``x``: the paper's row, ours, and the zoo manifest's
    figures, every accuracy with its 95 % interval. ``sample`` says what ``x`` is (default: a
    seeded class-stratified draw of ``len(x)`` images, as :func:`~advlab.studies.stratified_sample`
    gives)."""
    atks = [attacks.FGSM(model, eps=0.3), attacks.PGD(model, eps=0.3, steps=40, alpha=0.01),
            attacks.PGD(model, eps=0.3, steps=100, alpha=0.01)]
    ours = [report.from_outcomes(metrics.correct(model, x, y, a)) for a in [None, *atks]]
    clean, robust = manifest_rates(name)
    return report.side_by_side(list(MADRY_2018_MNIST), {
        "Madry et al. 2018 (paper, full test set)": [report.from_percent(v, MNIST_TEST_N)
                                                     for v in MADRY_2018_MNIST.values()]}, {
        f"advlab `{name}`, {sample or f'{len(x)} test images, stratified, seeded'}": ours,
        f"advlab manifest: full test set / first {robust.n:,}": [clean, None, robust, None]})


def seminar_table(model, x, y, name: str = "cifar_gap_cnn") -> tuple[list[dict], report.Table]:
    """The seminar's settings on ``model`` (the zoo's ``name``) and ``x``: the rows of
    :func:`~advlab.studies.attack_table`, and a table with one setting per row, the
    seminar's VGG16 (CUB-12) beside ours, every accuracy with its interval."""
    rows = attack_table(model, SEMINAR_SETTINGS, x, y)
    table = report.Table(["setting", f"seminar VGG16, CUB-12 ({SEMINAR_N} images, paper)",
                          f"advlab `{name}`, CIFAR-10 ({len(x)} images)"], digits=2)
    for r, paper in zip(rows, SEMINAR_VGG16):
        table.add(setting_name(r["attack"], r["eps"], r["steps"]), report.from_percent(paper, SEMINAR_N), r["rate"])
    return rows, table


def seminar_reading(rows) -> str:
    """What chapter 1 reads in :func:`seminar_table`'s rows, beside the seminar: FGSM, the
    iterative attacks at ε = 8, and whether MIM is the weakest iterative attack at ε = 2
    (a paired test against BIM and PGD on the same images, :func:`advlab.report.verdict`)."""
    by = {(r["attack"], r["eps"]): r for r in rows}
    paper = {(a, e): v for (a, e, _), v in zip(SEMINAR_SETTINGS, SEMINAR_VGG16)}
    most_left8 = max(ITERATIVE, key=lambda a: by[a, 8]["rate"].value)
    weakest = max(ITERATIVE, key=lambda a: by[a, 2]["rate"].value)
    mim_weakest = report.every(report.verdict(report.mcnemar(by["mim", 2]["correct"], by[a, 2]["correct"]), ">")
                               for a in ITERATIVE if a != "mim")
    fgsm = (f"FGSM leaves {by['fgsm', 2]['rate']} % at ε=2 and {by['fgsm', 8]['rate']} % at ε=8 "
            f"(seminar: {paper['fgsm', 2]}%, {paper['fgsm', 8]}%).")
    iterative = (f"Ten iterative steps at ε=8 leave at most {by[most_left8, 8]['rate']} % "
                 f"(seminar: {max(paper[a, 8] for a in ITERATIVE)}%).")
    ranking = (f"At ε=2 the weakest iterative attack here is {weakest.upper()} ({by[weakest, 2]['rate']} %); "
               f"in the seminar it was MIM ({paper['mim', 2]}%).")
    verdict = f"'MIM is the weakest iterative attack at ε=2' (paired tests against BIM and PGD): {mim_weakest}."
    return f"{fgsm}\n{iterative}\n{ranking}\n{verdict}"


def seminar_claims(rows) -> report.Table:
    """The seminar's readings of its table (``SEMINAR_VGG16``) as claims, each judged by paired
    tests on our same images (:func:`advlab.report.mcnemar`, :func:`advlab.report.verdict`) at
    every ε the table shows: one FGSM step leaves more images correct than ten iterative steps,
    and MIM is the weakest iterative attack (at ε = 2, where the seminar saw it). "ours" gives the
    paired difference in accuracy, points with its 95 % interval and p-value."""
    by = {(r["attack"], r["eps"]): r for r in rows}
    paper = {(a, e): v for (a, e, _), v in zip(SEMINAR_SETTINGS, SEMINAR_VGG16)}
    table = report.Table(["the seminar's claim", "seminar: accuracy %", "ours: difference in accuracy, points",
                          "verdict here"])
    claims: list[tuple[str, str, tuple[str, ...], int]] = [
        (f"FGSM is weaker than every iterative attack at ε={eps}", "fgsm", ITERATIVE, eps)
        for eps in sorted({e for a, e, _ in SEMINAR_SETTINGS if a == "fgsm"})]
    claims.append(("MIM is the weakest iterative attack at ε=2", "mim", ("bim", "pgd"), 2))
    for claim, a, others, eps in claims:
        tests = {b: report.mcnemar(by[a, eps]["correct"], by[b, eps]["correct"]) for b in others}
        table.add(claim, ", ".join(f"{k.upper()} {paper[k, eps]:g}" for k in (a, *others)),
                  "; ".join(f"{a.upper()} − {b.upper()}: {t}" for b, t in tests.items()),
                  report.every(report.verdict(t, ">") for t in tests.values()))
    return report.claims.register(1, "the seminar's reading of FGSM, BIM, PGD and MIM", table)


# -- the record: restarts, convergence, the evaluation checklist (full MNIST test set) -------------
def pgd_alpha(steps: int, eps: float = 0.3) -> float:
    """Madry et al.'s step 0.01 where it can cross the ball (40 steps and more at ε = 0.3), else
    2.5·ε/steps (Madry et al.'s rule of thumb for fewer steps)."""
    return 0.01 if steps * 0.01 >= 2.5 * eps / 2 else round(2.5 * eps / steps, 4)


def record_attacks(model, seed: int = 0) -> dict:
    """Name → attack (``atk(x, y)``) of every setting the record holds, all at ε = 0.3 unless named."""
    import torchattacks
    out: dict = {"FGSM": attacks.FGSM(model, eps=0.3)}
    for k in CONVERGENCE_STEPS:
        out[f"PGD-{k}"] = attacks.PGD(model, eps=0.3, steps=k, alpha=pgd_alpha(k), seed=seed)
    for k in (40, 100):
        out[f"PGD-{k}, 20 restarts"] = attacks.PGD(model, eps=0.3, steps=k, alpha=0.01, restarts=20, seed=seed)
    for e in CHECK_EPS:
        if e != 0.3:
            out[f"PGD-40 at ε={e:g}"] = attacks.PGD(model, eps=e, steps=40, alpha=pgd_alpha(40, e), seed=seed)
    out["PGD-20 at ε=1 (unbounded)"] = attacks.PGD(model, eps=1.0, steps=20, alpha=0.1, seed=seed)
    out["APGD-CE"] = torchattacks.APGD(model, norm="Linf", eps=0.3, steps=100, seed=seed, loss="ce")
    out["APGD-T"] = torchattacks.APGDT(model, norm="Linf", eps=0.3, steps=100, seed=seed, n_classes=10)
    return out


def build(path: Path | None = RECORD, per_class: int = RECORD_PER_CLASS, seed: int = 0) -> dict:
    """Per-image outcomes of ``RECORD_MODEL`` under :func:`record_attacks` on ``per_class`` test
    images of each digit, drawn with ``seed`` from the full MNIST test set (:func:`advlab.data.tensors`),
    written to ``path`` (None: not written)."""
    from ..zoo.training import hardware
    from .common import stratified_indices
    t0 = time.perf_counter()
    model = zoo.load(RECORD_MODEL)
    ts = data.tensors("mnist", "test")
    idx = stratified_indices(ts.y, per_class, seed)
    x, y = ts.x[idx], ts.y[idx]
    record: dict = {"model": RECORD_MODEL, "n": len(y), "seed": seed, "indices": idx.tolist(),
                    "images": f"{per_class} test images of each digit, drawn with seed {seed} from the full MNIST "
                              f"test set ({ts.variant})",
                    "outcomes": {"clean": common.outcome_bits(metrics.correct(model, x, y))}, "seconds": {}}
    for name, atk in record_attacks(model, seed).items():
        t1 = time.perf_counter()
        ok = metrics.correct(model, x, y, atk, batch_size=1000)
        record["outcomes"][name], record["seconds"][name] = common.outcome_bits(ok), round(time.perf_counter() - t1, 1)
        print(f"{name}: {ok.float().mean():.4f} ({record['seconds'][name]} s)", flush=True)
    record.update(total_seconds=round(time.perf_counter() - t0, 1), hardware=hardware(), torch=torch.__version__)
    if path is not None:
        Path(path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def load_record(path: Path = RECORD) -> dict:
    """The record (:func:`build`)."""
    return common.load_record(path, "ch01_attacks")


def outcomes(record: dict, name: str) -> np.ndarray:
    """Per-image outcomes (bool) of setting ``name`` in the record."""
    return common.bits_outcomes(record["outcomes"][name])


def restarts_table(record: dict) -> report.Table:
    """Madry et al.'s table with its restart rows, the paper beside ours (full test set, 95 %
    intervals) and, per row, the paired drop that restarts cause (McNemar)."""
    n = record["n"]
    rows = [("clean", "clean", MADRY_2018_MNIST["clean"]), ("FGSM", "FGSM", MADRY_2018_MNIST["FGSM"]),
            ("PGD-40", "PGD-40", MADRY_2018_MNIST["PGD-40"]), ("PGD-100", "PGD-100", MADRY_2018_MNIST["PGD-100"]),
            *[(k, k, v) for k, v in MADRY_2018_RESTARTS.items()]]
    table = report.Table(["attack (ε = 0.3)", f"paper ({MNIST_TEST_N:,} images)", f"ours ({n:,} images)",
                          "restarts: change from 1 restart, points (paired)"])
    for label, key, paper in rows:
        ours = report.from_outcomes(outcomes(record, key))
        change = "–"
        if "restarts" in key:
            change = str(report.mcnemar(outcomes(record, key), outcomes(record, key.split(",")[0])))
        table.add(label, report.from_percent(paper, MNIST_TEST_N), ours, change)
    return table


def convergence(record: dict) -> dict:
    """Accuracy (Rate) after each number of PGD steps of ``CONVERGENCE_STEPS``, by steps."""
    return {k: report.from_outcomes(outcomes(record, f"PGD-{k}")) for k in CONVERGENCE_STEPS}


def checklist(record: dict) -> report.Table:
    """Carlini et al.'s evaluation checklist (2019) on the record, each check computed with a paired
    test on the same images: an iterative attack beats one step; more steps, more restarts and a
    larger ε never help the defender; an unbounded attack fools every image; a stronger attack
    (APGD-CE, APGD-T) agrees with PGD within ``TOLERANCE`` points."""
    o = lambda k: outcomes(record, k)  # noqa: E731
    eps_keys = [f"PGD-40 at ε={e:g}" if e != 0.3 else "PGD-40" for e in CHECK_EPS]
    steps_keys = [f"PGD-{k}" for k in CONVERGENCE_STEPS]
    worst = o("PGD-100, 20 restarts") & o("APGD-CE") & o("APGD-T")
    checks = [
        ("PGD-40 leaves no more images correct than FGSM", "FGSM − PGD-40",
         [report.mcnemar(o("FGSM"), o("PGD-40"))], ">="),
        ("more steps never help the defender (10 → 200)", "each step count − the next",
         [report.mcnemar(o(a), o(b)) for a, b in zip(steps_keys, steps_keys[1:])], ">="),
        ("restarts never help the defender (1 → 20)", "1 restart − 20, at 40 and 100 steps",
         [report.mcnemar(o(f"PGD-{k}"), o(f"PGD-{k}, 20 restarts")) for k in (40, 100)], ">="),
        ("accuracy falls as ε grows (0.1 → 0.4)", "each ε − the next",
         [report.mcnemar(o(a), o(b)) for a, b in zip(eps_keys, eps_keys[1:])], ">="),
        ("a stronger attack agrees with PGD-40", "PGD-40 − worst of PGD-100×20, APGD-CE, APGD-T",
         [report.mcnemar(o("PGD-40"), worst)], "="),
    ]
    table = report.Table(["check", "compared (paired, points)", "measured", "verdict"])
    for check, compared, tests, kind in checks:
        if kind == ">=":   # "does not hold" only if some step goes the wrong way significantly
            verdict = report.every(report.DOES_NOT_HOLD if report.verdict(t, "<") == report.HOLDS
                                   else report.HOLDS for t in tests)
        else:
            verdict = report.verdict(tests[0], "=", tolerance=TOLERANCE)
        table.add(check, compared, "; ".join(f"{100 * t.difference:+.1f}" for t in tests), verdict)
    unbounded = report.from_outcomes(o("PGD-20 at ε=1 (unbounded)"))
    table.add("an unbounded attack fools every image", "accuracy under PGD-20 at ε = 1", f"{unbounded:.1f} %",
              report.HOLDS if unbounded.value == 0 else report.DOES_NOT_HOLD)
    return report.claims.register(1, f"evaluation checklist (Carlini et al., 2019) on `{record['model']}`", table)


#: Within this many points a stronger attack "agrees" (the issue's threshold for a weak yardstick).
TOLERANCE = 0.03


def main(argv=None) -> int:
    return common.record_main(argv, "Record chapter 1's Madry restarts, convergence and checklist.", build, RECORD,
                              RECORD_PER_CLASS, unit="digit")


if __name__ == "__main__":
    raise SystemExit(main())
