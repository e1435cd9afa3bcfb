"""Chapter 6's study: samples, the measures behind each claim, and verdicts computed from them."""
import pytest
import torch

import advlab as al
from advlab import report
from advlab.interpret.promotion import PSE, pse_type

S = al.studies.ch06_promotion


def test_samples_are_disjoint_stratified_and_seeded():
    (xc, yc), (x, y) = S.samples(per_class=4, calibration=2)
    assert torch.bincount(y, minlength=10).tolist() == [4] * 10
    assert torch.bincount(yc, minlength=10).tolist() == [2] * 10
    # no image is in both (compare pixels: the bundled images are distinct)
    flat, flat_c = x.flatten(1), xc.flatten(1)
    assert not any(torch.equal(a, b) for a in flat_c for b in flat)
    (xc2, _), (x2, _) = S.samples(per_class=4, calibration=2)
    assert torch.equal(x, x2) and torch.equal(xc, xc2)
    assert not torch.equal(S.samples(seed=1, per_class=4, calibration=2)[1][0], x)
    with pytest.raises(ValueError, match="per_class"):
        S.samples(per_class=0)


def test_targets_never_hit_the_label_and_cover_the_others():
    y = torch.arange(10).repeat(50)
    t = S.targets(y)
    assert (t != y).all() and torch.equal(t, S.targets(y))
    assert set(t[y == 3].tolist()) == set(range(10)) - {3}


def test_energy_share_by_hand():
    x = torch.zeros(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1                       # the top half
    x_adv = x.clone()
    x_adv[0, :, :2] = 0.1                    # image 0: all of δ in the top half
    x_adv[1] = 0.1                           # image 1: δ uniform
    x_adv[1, 0, 3, 3] = 0.3                  # ... plus one strong pixel in the bottom half
    share = S.energy_share(x, x_adv, mask)
    total = 48 * 0.01 + (0.09 - 0.01)
    assert share[0] == pytest.approx(1.0)
    assert share[1] == pytest.approx(24 * 0.01 / total)


def _run(s, p, success):
    s, p = torch.tensor(s, dtype=torch.float32), torch.tensor(p, dtype=torch.float32)
    z = torch.zeros(len(s), 4)
    pse = PSE(s, p, pse_type(s, p), z, z, z, 2.0)
    return {"success": torch.tensor(success), "pse": pse, "l2": torch.ones(len(s)), "linf": torch.ones(len(s))}


def test_claim_one_verdicts_from_known_effects():
    n = 30
    noise = _run([0.0] * n, [0.0] * n, [False] * n)
    # every attack lowers the true class and raises the target well beyond noise; types mixed
    s = [3.0] * 10 + [1.0] * 10 + [1.0] * 10
    p = [1.0] * 10 + [3.0] * 10 + [1.2] * 10
    runs = {name: _run(s, p, [True] * n) for name in S.ATTACK_NAMES}
    runs["noise"] = noise
    v = S.pse_verdicts(runs)
    assert v["three types"] == report.HOLDS
    assert all(v[a] == {"suppression": report.HOLDS, "promotion": report.HOLDS} for a in S.ATTACK_NAMES)
    # only balanced examples: two types never occur (their rates' upper bounds stay below 5 % at n = 100)
    n = 100
    only = {name: _run([1.0] * n, [1.0] * n, [True] * n) for name in S.ATTACK_NAMES}
    only["noise"] = _run([0.0] * n, [0.0] * n, [False] * n)
    assert S.pse_verdicts(only)["three types"] == report.DOES_NOT_HOLD
    # an attack that suppresses nothing: its suppression is not above the noise
    none = dict(runs)
    none["FGSM"] = _run([0.0] * 30, [3.0] * 30, [True] * 30)
    assert S.pse_verdicts(none)["FGSM"]["suppression"] != report.HOLDS
    # type shares only count the examples that reached the target
    rates = S.type_rates(_run([3.0, 0.0, 1.0], [0.0, 3.0, 1.0], [True, False, False]))
    assert rates["suppression-dominated"].value == 1.0 and rates["promotion-dominated"].value == 0.0


def _defence(sensitive, random, none):
    c = {v: {0: torch.ones(200, dtype=torch.bool)} for v in ("none", "sensitive", "random")}
    for v, k in (("sensitive", sensitive), ("random", random), ("none", none)):
        c[v][8] = torch.arange(200) < k
    return {"channels": {}, "correct": c}


def test_claim_four_verdict_follows_the_paired_test():
    def verdict(defence):
        results = {"pse": {"m": None}, "region": {}, "dissection": {}, "defence": {"m": defence}}
        c = results["defence"]["m"]["correct"]
        return report.every([report.verdict(report.mcnemar(c["sensitive"][e], c["random"][e]), ">")
                             for e in c["none"] if e != 0])
    assert verdict(_defence(120, 60, 60)) == report.HOLDS
    assert verdict(_defence(60, 120, 60)) == report.DOES_NOT_HOLD
    assert verdict(_defence(61, 60, 60)) == report.CANNOT_TELL
    table = S.defence_table({"defence": {"m": _defence(120, 60, 60)}})
    assert [r[1] for r in table.rows] == ["clean", 8] and table.rows[1][-1] == report.HOLDS


@pytest.fixture(scope="module")
def small_run():
    """The whole chapter on the standard model, 2 images per class, a small concept probe."""
    model = al.zoo.load("cifar_resnet8")
    return S.run(per_class=2, models_={"standard": model}, probe=al.interpret.concept_set(n=80))


def test_run_measures_every_claim_and_the_tables_agree(small_run):
    r = small_run
    keep = r["kept"]["standard"]
    assert len(r["x"]) == 20 and keep.dtype == torch.bool and 0 < int(keep.sum()) <= 20
    runs = r["pse"]["standard"]
    assert set(runs) == {*S.ATTACK_NAMES, "noise"}
    for name in S.ATTACK_NAMES:
        assert len(runs[name]["success"]) == int(keep.sum())
    assert runs["CW-L2"]["success"].float().mean() >= 0.9          # a minimum-norm attack almost always wins
    assert (runs["PGD-10"]["linf"] <= 8 / 255 + 1e-6).all()
    assert (runs["group PGD"]["l2"] <= S.GROUP_EPS + 1e-4).all()
    # the suppression and promotion of a successful example add up to more than zero
    ok = runs["PGD-10"]["success"]
    pse = runs["PGD-10"]["pse"]
    assert ((pse.suppression + pse.promotion)[ok] > 0).all()
    reg = r["region"]["standard"]
    assert set(reg["guided"]) == {"full", "cam", "random"} and 0.2 <= reg["area"] <= 0.4
    assert set(r["dissection"]["standard"]) == set(S.DISSECT_LAYERS)
    assert r["dissection"]["standard"]["features.2"]["attack"].shape == (64,)
    claims = S.claims_table(r)
    assert len(claims.rows) == len(S.CLAIMS)
    assert all(row[-1] in (report.HOLDS, report.DOES_NOT_HOLD, report.CANNOT_TELL) for row in claims.rows)
    types = S.type_table(r)
    assert [row[2] for row in types.rows] == [int(runs[a]["success"].sum()) for a in S.ATTACK_NAMES]
    for table in (S.pse_table(r), types, S.region_table(r), S.dissection_table(r), S.defence_table(r)):
        assert table.rows and str(table).startswith("|")
    text = S.reading(r)
    assert "**standard**" in text and "claim 4" in text
