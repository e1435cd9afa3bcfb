"""Chapter 1, adversarial examples: Madry et al.'s MNIST table and the seminar's attack table
at our scale. The papers' numbers are written here once; the chapter shows them beside ours."""
from __future__ import annotations

from .. import attacks, metrics, report
from .common import accuracy_vs_eps, attack_table, manifest_rates

#: Madry et al. 2018, MNIST, ε = 0.3, white-box attacks on their adversarially trained CNN,
#: accuracy (%) on the full test set (10,000 images).
MADRY_2018_MNIST = {"clean": 98.8, "FGSM": 95.6, "PGD-40": 93.2, "PGD-100": 91.8}
MNIST_TEST_N = 10_000

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
    """The seminar's readings of its table (:data:`SEMINAR_VGG16`) as claims, each judged by paired
    tests on our same images (:func:`advlab.report.mcnemar`, :func:`advlab.report.verdict`) at
    every ε the table shows: one FGSM step leaves more images correct than ten iterative steps,
    and MIM is the weakest iterative attack (at ε = 2, where the seminar saw it). "ours" gives the
    paired difference in accuracy, points with its 95 % interval and p-value."""
    by = {(r["attack"], r["eps"]): r for r in rows}
    paper = {(a, e): v for (a, e, _), v in zip(SEMINAR_SETTINGS, SEMINAR_VGG16)}
    table = report.Table(["the seminar's claim", "seminar: accuracy %", "ours: difference in accuracy, points",
                          "verdict here"])
    claims = [(f"FGSM is weaker than every iterative attack at ε={eps}", "fgsm", ITERATIVE, eps)
              for eps in sorted({e for a, e, _ in SEMINAR_SETTINGS if a == "fgsm"})]
    claims.append(("MIM is the weakest iterative attack at ε=2", "mim", ("bim", "pgd"), 2))
    for claim, a, others, eps in claims:
        tests = {b: report.mcnemar(by[a, eps]["correct"], by[b, eps]["correct"]) for b in others}
        table.add(claim, ", ".join(f"{k.upper()} {paper[k, eps]:g}" for k in (a, *others)),
                  "; ".join(f"{a.upper()} − {b.upper()}: {t}" for b, t in tests.items()),
                  report.every(report.verdict(t, ">") for t in tests.values()))
    return report.claims.register(1, "the seminar's reading of FGSM, BIM, PGD and MIM", table)
