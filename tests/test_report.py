import math

import numpy as np
import pytest
import torch

import advlab as al
from advlab import report

Z = 1.959963984540054   # the 97.5 % normal quantile


def wilson(k, n, z=Z):
    """The Wilson score interval by its closed form."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(81, 100), (0, 10), (10, 10), (408, 500), (1, 299)])
def test_wilson_interval_matches_the_closed_form(k, n):
    r = report.rate(k, n)
    lo, hi = wilson(k, n)
    assert (r.k, r.n, r.value) == (k, n, k / n)
    assert r.low == pytest.approx(max(lo, 0), abs=1e-9) and r.high == pytest.approx(min(hi, 1), abs=1e-9)


def test_wilson_known_value_and_format():
    r = report.rate(81, 100)
    assert (round(r.low, 4), round(r.high, 4)) == (0.7222, 0.8749)
    assert str(report.rate(408, 500)) == "81.6 [78.0, 84.8]"
    assert f"{report.rate(408, 500):.2f}" == "81.60 [77.97, 84.75]"
    # 0 of 10,000: Wilson's upper bound is 3.84 / 10,003.84 = 0.038 %, which one decimal hides
    assert str(report.rate(0, 10_000)) == "0.00 [0.00, 0.04]"
    assert str(report.rate(10_000, 10_000)) == "100.00 [99.96, 100.00]"
    assert str(report.rate(0, 100)) == "0.0 [0.0, 3.7]"
    with pytest.raises(ValueError, match="k <= n"):
        report.rate(5, 4)


def test_rates_from_accuracies_outcomes_and_papers():
    assert report.from_accuracy(0.8966666460037231, 300).k == 269   # a float32 mean of 300 outcomes
    with pytest.raises(ValueError, match="whole number"):
        report.from_accuracy(0.5, 3)
    assert report.from_outcomes(torch.tensor([True, False, True, True])) == report.rate(3, 4)
    seminar = report.from_percent(88.96, 299)
    assert seminar.k == 266 and f"{seminar:.2f}".startswith("88.96 ")
    # N×S outcomes: the share of all outcomes, an interval over images (wider than Wilson's over N·S)
    o = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]] * 25)
    r = report.from_outcomes(o)
    assert (r.k, r.n) == (150, 300) and r.low < 0.5 < r.high
    assert r.high - r.low > report.rate(150, 300).high - report.rate(150, 300).low


def test_mcnemar_on_a_hand_made_case():
    # 8 images only A gets right, 1 only B, 11 both or neither: p = 2·P(X <= 1), X ~ Bin(9, 1/2)
    a = np.array([1] * 8 + [0] * 1 + [1] * 6 + [0] * 5)
    b = np.array([0] * 8 + [1] * 1 + [1] * 6 + [0] * 5)
    t = report.mcnemar(a, b)
    assert (t.a_better, t.b_better, t.n) == (8, 1, 20)
    assert t.pvalue == pytest.approx(2 * (1 + 9) / 2 ** 9)
    assert t.difference == pytest.approx(7 / 20) and t.low < 7 / 20 < t.high
    assert report.mcnemar(a, a).pvalue == 1.0 and report.mcnemar(a, a).low == report.mcnemar(a, a).high == 0
    with pytest.raises(ValueError, match="same shape"):
        report.mcnemar(a, b[:5])


def test_mcnemar_with_several_settings_is_a_sign_test_over_images():
    a = torch.tensor([[1, 1], [1, 0], [0, 0], [1, 1]])
    b = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 0]])
    t = report.mcnemar(a, b)
    assert (t.a_better, t.b_better) == (2, 1)   # images 0 and 3 for A, image 2 for B, image 1 a tie
    assert t.pvalue == pytest.approx(1.0) and t.difference == pytest.approx((0.5 + 0 - 0.5 + 1) / 4)


def test_paired_ratio():
    g = torch.Generator().manual_seed(0)
    before_a, before_b = torch.rand(400, generator=g) < 0.8, torch.rand(400, generator=g) < 0.7
    after_a, after_b = before_a & (torch.rand(400, generator=g) < 0.7), before_b & (torch.rand(400, generator=g) < 0.4)
    t = report.paired_ratio(after_a, before_a, after_b, before_b)
    ratio = lambda x, y: x.float().sum() / y.float().sum()
    assert t.difference == pytest.approx(float(ratio(after_a, before_a) - ratio(after_b, before_b)))
    assert t.low < t.difference < t.high and t.pvalue < 1e-6
    # with every image right before, the kept fraction is the accuracy after: McNemar's interval
    ones = torch.ones(400, dtype=torch.bool)
    r, m = report.paired_ratio(after_a, ones, after_b, ones), report.mcnemar(after_a, after_b)
    assert (r.low, r.high) == pytest.approx((m.low, m.high))
    same = report.paired_ratio(after_a, before_a, after_a, before_a)
    assert same.difference == 0 and same.pvalue == 1.0
    with pytest.raises(ValueError, match="zero"):
        report.paired_ratio(after_a, ~ones, after_b, before_b)


def paired(diff, low, high, p):
    return report.Paired(diff, low, high, p, 0, 0, 100)


@pytest.mark.parametrize("evidence, claim, tol, expected", [
    (paired(0.03, 0.01, 0.05, 0.049), ">", 0, "holds"),
    (paired(0.03, 0.01, 0.05, 0.05), ">", 0, "cannot tell at this sample size"),   # p = α: not significant
    (paired(-0.03, -0.05, -0.01, 0.01), ">", 0, "does not hold"),
    (paired(-0.03, -0.05, -0.01, 0.01), "<", 0, "holds"),
    (paired(0.005, -0.02, 0.02, 0.6), ">", 0.02, "does not hold"),   # equal within ±2 points (inclusive)
    (paired(0.005, -0.021, 0.02, 0.6), ">", 0.02, "cannot tell at this sample size"),
    (paired(0.005, -0.02, 0.02, 0.6), ">", 0, "cannot tell at this sample size"),   # no tolerance: no "equal"
    (paired(0.01, 0.001, 0.019, 0.04), ">", 0.02, "holds"),   # significant wins over "within tolerance"
    (paired(0.005, -0.02, 0.02, 0.6), "=", 0.02, "holds"),
    (paired(0.04, 0.021, 0.06, 0.001), "=", 0.02, "does not hold"),
    (paired(0.03, 0.01, 0.05, 0.01), "=", 0.02, "cannot tell at this sample size"),
    ((report.Rate(60, 100, 0.51, 0.69), report.Rate(40, 100, 0.31, 0.50)), ">", 0, "holds"),
    ((report.Rate(60, 100, 0.50, 0.69), report.Rate(40, 100, 0.31, 0.50)), ">", 0, "cannot tell at this sample size"),
    ((report.Rate(40, 100, 0.31, 0.49), report.Rate(60, 100, 0.50, 0.69)), ">", 0, "does not hold"),
    ((report.Rate(50, 100, 0.495, 0.505), report.Rate(50, 100, 0.495, 0.505)), "=", 0.02, "holds"),
    ((report.Rate(50, 100, 0.48, 0.52), report.Rate(50, 100, 0.48, 0.52)), "=", 0.02, "cannot tell at this sample size"),
])
def test_verdict_rules_at_their_boundaries(evidence, claim, tol, expected):
    assert report.verdict(evidence, claim, tolerance=tol) == expected


def test_verdict_rejects_bad_claims():
    with pytest.raises(ValueError, match="claim"):
        report.verdict(paired(0, 0, 0, 1), ">=")
    with pytest.raises(ValueError, match="tolerance"):
        report.verdict(paired(0, 0, 0, 1), "=")
    with pytest.raises(ValueError, match="evidence"):
        report.verdict((0.5, 0.4))


def test_every_combines_verdicts():
    h, n, c = report.HOLDS, report.DOES_NOT_HOLD, report.CANNOT_TELL
    assert report.every([h, h]) == h and report.every([h, c]) == c and report.every([c, n, h]) == n
    with pytest.raises(ValueError):
        report.every([])


def test_tables_render_as_markdown():
    t = report.Table(["", "clean", "FGSM"], [["paper | full", 98.8, None], ["ours", report.rate(290, 300), "–"]])
    assert t._repr_markdown_() == ("|  | clean | FGSM |\n|---|---|---|\n"
                                   "| paper \\| full | 98.8 | None |\n| ours | 96.7 [94.0, 98.2] | – |")
    assert str(t) == t._repr_markdown_()
    t.add("more", 1.25, "x")
    assert t._repr_markdown_().endswith("| more | 1.2 | x |")
    with pytest.raises(ValueError, match="cell per header"):
        t.add("too", "few")
    assert report.markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"


def test_side_by_side_puts_the_paper_first_and_marks_missing_values():
    t = report.side_by_side(["clean", "PGD"], {"paper": [report.from_percent(98.8, 10_000), 93.2]},
                            {"ours": [report.rate(297, 300), None]}, first="model")
    lines = t._repr_markdown_().splitlines()
    assert lines[0] == "| model | clean | PGD |"
    assert lines[2] == "| paper | 98.8 [98.6, 99.0] | 93.2 |" and lines[3] == "| ours | 99.0 [97.1, 99.7] | – |"


def test_report_is_reachable_from_the_package():
    assert al.report.rate is report.rate


# -- source: the taught code, from the package ---------------------------------------------------
def test_source_is_the_objects_lines_in_its_file():
    import textwrap
    from pathlib import Path
    shown = al.report.source(al.attacks.IterativeAttack.perturb)
    assert shown.path == "advlab/attacks/iterative.py" and shown.name == "IterativeAttack.perturb"
    lines = (Path(al.__file__).parent.parent / shown.path).read_text().splitlines(keepends=True)
    assert shown.text == textwrap.dedent("".join(lines[shown.first - 1:shown.last]))
    assert shown.text.startswith("def perturb(self, x, y, start):")
    after = lines[shown.last:shown.last + 1]  # the method ends there: the file does, or a line outside it
    assert not after or not after[0].startswith("        ")


def test_source_markdown_is_a_python_block_headed_by_its_place():
    md = al.report.source(al.attacks.FGSM)._repr_markdown_()
    head, block = md.split("\n\n", 1)
    assert head.startswith("`advlab/attacks/fgsm.py`, lines ") and head.endswith("`FGSM`")
    assert block.startswith("```python\nclass FGSM(") and block.endswith("```\n")
    # a listing holding a fence gets a longer one
    tricky = al.report.Source("advlab/x.py", "f", 1, 3, 'def f():\n    """```py\n    ```"""\n')
    assert tricky._repr_markdown_().split("\n\n", 1)[1].startswith("````python\n")


def test_source_by_dotted_name_reaches_what_public_names_hide():
    # al.interpret.pathways is the function; the module's private helper is still reachable by name
    shown = al.report.source("advlab.interpret.pathways._influence")
    assert shown.path == "advlab/interpret/pathways.py" and shown.text.startswith("def _influence(")


@pytest.mark.parametrize("bad", [len, 3, "numpy.mean", "advlab.attacks.NoSuchAttack", al.attacks, "advlab"])
def test_source_refuses_what_is_not_advlab_code(bad):
    with pytest.raises(ValueError, match="obj must"):
        al.report.source(bad)


# -- claims: the book's claims page ----------------------------------------------------------------
def _claims(*verdicts):
    return report.Table(["claim", "ours", "verdict"], [[f"c{i}", report.rate(40 + i, 50), v]
                                                        for i, v in enumerate(verdicts)])


def test_claims_are_written_only_while_the_book_is_built(tmp_path, monkeypatch):
    monkeypatch.delenv(report.claims.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    t = _claims(report.HOLDS)
    assert report.claims.register(3, "texture", t) is t
    assert list(tmp_path.iterdir()) == [] and report.claims.collected() == []
    assert "No claims were recorded" in report.claims.page()._repr_markdown_()


def test_claims_page_counts_each_chapters_verdicts(tmp_path, monkeypatch):
    monkeypatch.setenv(report.claims.ENV, str(tmp_path / "claims"))
    report.claims.register(7, "layers", _claims(report.HOLDS, "does not hold (avg is worse)", "**holds**"))
    report.claims.register(2, "ranking", _claims(report.CANNOT_TELL, report.DOES_NOT_HOLD))
    records = report.claims.collected()
    assert [(r["chapter"], r["title"]) for r in records] == [(2, "ranking"), (7, "layers")]
    assert records[1]["rows"][0][1] == "80.0 [67.0, 88.8]"   # cells as the chapter shows them
    md = report.claims.page()._repr_markdown_()
    assert "| 2 | ranking | 0 | 1 | 1 |" in md and "| 7 | layers | 2 | 1 | 0 |" in md
    assert md.index("### Chapter 2: ranking") < md.index("### Chapter 7: layers")
    # registering again (the chapter re-executed) replaces its record
    report.claims.register(2, "ranking", _claims(report.HOLDS))
    assert "| 2 | ranking | 1 | 0 | 0 |" in report.claims.page()._repr_markdown_()


@pytest.mark.parametrize("kwargs, name", [({"chapter": 0}, "chapter"), ({"chapter": True}, "chapter"),
                                          ({"title": " "}, "title"), ({"table": [["x"]]}, "table")])
def test_claims_register_checks_its_arguments(kwargs, name):
    args = {"chapter": 2, "title": "t", "table": _claims(report.HOLDS), **kwargs}
    with pytest.raises(ValueError, match=f"^{name} must"):
        report.claims.register(**args)
