import pytest
import torch

import advlab as al
from advlab import report
from advlab.studies import ch01_attacks as ch01
from advlab.studies import ch02_maps as ch02
from advlab.studies import ch03_texture as ch03


def test_attack_table_and_curve(tiny_gap, tiny_batch):
    x, y = tiny_batch
    rows = al.studies.attack_table(tiny_gap, [("clean", 0, 0), ("fgsm", 8, 1), ("pgd", 8, 5)], x, y)
    assert [r["attack"] for r in rows] == ["clean", "fgsm", "pgd"]
    assert rows[0]["rate"].value == pytest.approx(al.metrics.accuracy(tiny_gap, x, y))
    pgd = al.attacks.make("pgd", tiny_gap, eps=8 / 255, steps=5)
    assert rows[2]["rate"].value == al.metrics.robust_accuracy(tiny_gap, pgd, x, y)
    assert rows[2]["correct"].dtype == torch.bool and rows[2]["rate"] == report.from_outcomes(rows[2]["correct"])
    curve = al.studies.accuracy_vs_eps(tiny_gap, "pgd", [0.0, 0.1], x, y, steps=3)
    assert curve[0] == rows[0]["rate"] and curve[1].value <= curve[0].value


def test_transform_outcomes_match_direct_evaluation(tiny_gap, tiny_batch):
    x, y = tiny_batch
    models = {"a": tiny_gap, "b": al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()}
    fake = {0.5: torch.zeros_like(x)}
    out = al.studies.transform_outcomes(models, x, y, {"saturate": [2, 16], "patch_shuffle": [4], "stylize": [0.5]},
                                        stylized=fake, seed=2)
    res = al.studies.rates(out)
    assert list(res) == ["saturate", "patch_shuffle", "stylize"]
    for name, m in models.items():
        assert res["saturate"][2][name].value == pytest.approx(al.metrics.accuracy(m, x, y))
        assert res["saturate"][16][name].value == pytest.approx(al.metrics.accuracy(m, al.transforms.saturate(x, 16), y))
        assert res["patch_shuffle"][4][name].value == pytest.approx(
            al.metrics.accuracy(m, al.transforms.patch_shuffle(x, 4, seed=2), y))
        assert res["stylize"][0.5][name].value == pytest.approx(al.metrics.accuracy(m, torch.zeros_like(x), y))
    with pytest.raises(ValueError, match="transform"):
        al.studies.transform_outcomes(models, x, y, {"blur": [1]})
    with pytest.raises(ValueError, match="models"):
        al.studies.transform_outcomes({}, x, y, {"saturate": [2]})


def test_random_sign_noise_is_seeded_and_eps_sized(tiny_batch):
    x, _ = tiny_batch
    noisy = al.studies.random_sign_noise(x, "16/255", seed=1)
    assert (noisy - x).abs().max() <= 16 / 255 + 1e-6
    assert torch.equal(noisy, al.studies.random_sign_noise(x, "16/255", seed=1))
    assert not torch.equal(noisy, al.studies.random_sign_noise(x, "16/255", seed=2))


def test_chapter_2_shift_compares_maps_of_one_class(tiny_gap, tiny_batch):
    """Every comparison recomputed by hand: the true class's map clean vs PGD and vs noise, and on
    the fooled images the class switch alone (clean image, map of PGD's class) and the predicted
    classes under PGD."""
    x, _ = tiny_batch
    y = al.metrics.predict(tiny_gap, x)          # every image correct: all are kept
    o = ch02.shift_outcomes(tiny_gap, "gradcam", x, y, eps="16/255", steps=3, k=25, seed=4)
    gc = al.interpret.GradCAM(tiny_gap)
    adv = al.attacks.PGD(tiny_gap, eps="16/255", steps=3, seed=4)(x, y)
    noisy = al.studies.random_sign_noise(x, "16/255", seed=4)
    q = al.metrics.predict(tiny_gap, adv)
    n = al.interpret.normalize
    clean = n(gc(x, y))
    assert torch.allclose(o["pgd"], al.metrics.topk_iou(clean, n(gc(adv, y)), 25))
    assert torch.allclose(o["noise"], al.metrics.topk_iou(clean, n(gc(noisy, y)), 25))
    assert torch.allclose(o["spread_pgd"], al.metrics.spread(n(gc(adv, y))))
    assert torch.equal(o["fooled"], q != y)
    f = (q != y).nonzero().flatten()
    assert len(f) > 0
    assert torch.allclose(o["switch"], al.metrics.topk_iou(clean[f], n(gc(x[f], q[f])), 25))
    assert torch.allclose(o["predicted"], al.metrics.topk_iou(clean[f], n(gc(adv[f], q[f])), 25))
    # images the model gets wrong are left out
    wrong = (y + 1) % 10
    wrong[0] = y[0]
    assert len(ch02.shift_outcomes(tiny_gap, "gradcam", x, wrong, steps=1, k=25)["pgd"]) == 1


def test_chapter_2_prototype_claims_have_their_controls(tiny_proto, tiny_batch):
    x, _ = tiny_batch
    y = al.metrics.predict(tiny_proto, x)
    o = ch02.prototype_outcomes(tiny_proto, x, y, eps="16/255", steps=3, k=4)
    top, _ = al.interpret.top_prototypes(tiny_proto, x, 4)
    assert torch.equal(o["chance"], (tiny_proto.prototype_class[top] == y[:, None]).flatten())
    sim = tiny_proto.similarity_maps(x).detach()
    h, w = sim.shape[-2:]
    for i in range(len(x)):                       # each top prototype's best match, found by hand
        for j, proto in enumerate(top[i].tolist()):
            r, c = divmod(int(sim[i, proto].flatten().argmax()), w)
            assert bool(o["border"]["clean"][i * 4 + j]) == (r in (0, h - 1) or c in (0, w - 1))
    assert o["border_chance"] == 1 - (h - 2) * (w - 2) / (h * w)
    table = ch02.prototype_table(o)
    assert [r[3] in (report.HOLDS, report.DOES_NOT_HOLD, report.CANNOT_TELL) for r in table.rows] == [True, True]
    assert "chance" in table.rows[0][2] and "uniform" in table.rows[1][2]
    assert f"the claim {table.rows[0][3]}." in ch02.prototype_reading(o)


def test_prototype_changes(tiny_proto, tiny_batch):
    x, _ = tiny_batch
    same = al.studies.prototype_changes(tiny_proto, x, x.clone(), k=4)
    assert torch.all(same["changed"] == 0) and len(same["new_of_predicted_class"]) == 0
    other = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(9))
    diff = al.studies.prototype_changes(tiny_proto, x, other, k=4)
    for i in range(4):
        assert diff["changed"][i] == len(set(diff["top_other"][i].tolist()) - set(diff["top"][i].tolist()))
    assert set(diff["new_of_predicted_class"].tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="ProtoPNet"):
        al.studies.prototype_changes(al.models.GapCNN(), x, x)


def test_manifest_rates_and_zoo_table():
    clean, robust = al.studies.manifest_rates("mnist_cnn_at")
    e = al.zoo.entry("mnist_cnn_at")
    assert (clean.n, robust.n) == (10_000, 1000)
    assert clean.value == pytest.approx(e["clean_accuracy"]) and robust.value == pytest.approx(e["robust_accuracy"])
    md = al.studies.zoo_table(["mnist_cnn", "mnist_cnn_at"])._repr_markdown_()
    assert "| `mnist_cnn_at` | PGD-7 L∞ ε=0.3 | 8 | 98.85 [" in md and md.count("\n") == 3


@pytest.mark.parametrize("row, n", [(ch01.MADRY_2018_MNIST.values(), ch01.MNIST_TEST_N),
                                    *((r, ch01.SEMINAR_N) for r in ch02.SEMINAR.values())])
def test_the_papers_numbers_are_whole_numbers_of_their_test_images(row, n):
    for v in row:
        r = report.from_percent(v, n)
        assert f"{r:.2f}".startswith(f"{v:.2f} [")   # shown as printed
        if v != 42.41:   # the seminar's attention pooling, FGSM (2,1): no whole number of 299 images
            assert round(100 * r.value, 2) == pytest.approx(v)


def test_chapter_1_tables(tiny_gap, tiny_batch):
    x, y = tiny_batch
    madry = ch01.madry_table(tiny_gap, x, y)._repr_markdown_().splitlines()
    assert madry[0] == "|  | clean | FGSM | PGD-40 | PGD-100 |"
    assert madry[2].startswith("| Madry et al. 2018 (paper, full test set) | 98.8 [98.6, 99.0] |")
    assert madry[4].startswith("| advlab manifest: full test set / first 1,000 | 98.9 [98.6, 99.0] | – |") and madry[4].count("–") == 2
    rows, table = ch01.seminar_table(tiny_gap, x, y)
    assert len(rows) == len(ch01.SEMINAR_SETTINGS) == len(table.rows)
    assert table.rows[1][0] == "FGSM (2,1)" and f"{table.rows[0][1]:.2f}".startswith("88.96 [")
    text = ch01.seminar_reading(rows)
    assert "seminar: 39.46%, 21.07%" in text and text.splitlines()[-1].endswith(
        (f"{report.HOLDS}.", f"{report.DOES_NOT_HOLD}.", f"{report.CANNOT_TELL}."))


def fake_rows(correct_by_setting):
    return [{"attack": a, "eps": e, "steps": s, "correct": c, "rate": report.from_outcomes(c)}
            for (a, e, s), c in zip(ch01.SEMINAR_SETTINGS, correct_by_setting)]


def _madry_record(acc: dict, n: int = 1000) -> dict:
    """A record whose settings leave the first ``round(acc * n)`` images correct (nested sets, so a
    setting with lower accuracy fails every image a higher one fails)."""
    keys = ["clean", "FGSM", *[f"PGD-{k}" for k in ch01.CONVERGENCE_STEPS], "PGD-40, 20 restarts",
            "PGD-100, 20 restarts", *[f"PGD-40 at ε={e:g}" for e in ch01.CHECK_EPS if e != 0.3],
            "PGD-20 at ε=1 (unbounded)", "APGD-CE", "APGD-T"]
    return {"model": "m", "n": n, "outcomes": {k: "1" * round(acc[k] * n) + "0" * (n - round(acc[k] * n))
                                               for k in keys}}


MADRY_OK = {"clean": 0.99, "FGSM": 0.96, "PGD-10": 0.95, "PGD-20": 0.94, "PGD-40": 0.93, "PGD-100": 0.92,
            "PGD-200": 0.92, "PGD-40, 20 restarts": 0.91, "PGD-100, 20 restarts": 0.915, "PGD-40 at ε=0.1": 0.98,
            "PGD-40 at ε=0.2": 0.97, "PGD-40 at ε=0.4": 0.5, "PGD-20 at ε=1 (unbounded)": 0.0, "APGD-CE": 0.92,
            "APGD-T": 0.925}


def test_chapter_1_restart_rows_and_convergence():
    rec = _madry_record(MADRY_OK)
    table = ch01.restarts_table(rec)
    assert [r[0] for r in table.rows] == ["clean", "FGSM", "PGD-40", "PGD-100", "PGD-40, 20 restarts",
                                          "PGD-100, 20 restarts"]
    assert f"{table.rows[4][1]:.1f}".startswith("90.4 [") and f"{table.rows[5][2]:.1f}".startswith("91.5 [")
    assert table.rows[4][3].startswith("-2.0 [") and table.rows[0][3] == "–"   # 93 % → 91 %, paired
    conv = ch01.convergence(rec)
    assert list(conv) == list(ch01.CONVERGENCE_STEPS) and conv[10].value == pytest.approx(0.95)


def test_chapter_1_checklist_verdicts():
    ok = ch01.checklist(_madry_record(MADRY_OK))
    assert [r[3] for r in ok.rows] == [report.HOLDS] * 6, ok.rows
    assert ok.rows[1][2] == "+1.0; +1.0; +1.0; +0.0"          # 10 → 20 → 40 → 100 → 200 steps
    bad = dict(MADRY_OK, **{"PGD-200": 0.95, "PGD-40, 20 restarts": 0.93, "APGD-T": 0.80,
                            "PGD-20 at ε=1 (unbounded)": 0.01})
    broken = ch01.checklist(_madry_record(bad))
    assert [r[3] for r in broken.rows] == [report.HOLDS, report.DOES_NOT_HOLD, report.HOLDS, report.HOLDS,
                                           report.DOES_NOT_HOLD, report.DOES_NOT_HOLD]
    assert ch01.pgd_alpha(40) == 0.01 and ch01.pgd_alpha(10) == pytest.approx(0.075)


def test_chapter_1_seminar_claims_at_every_eps():
    n = 300
    every, none, half = torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool), torch.arange(n) % 2 == 0
    # clean, FGSM 2, FGSM 8, BIM 2, BIM 8, PGD 2, PGD 8, MIM 2, MIM 8
    table = ch01.seminar_claims(fake_rows([every, every, half, none, none, none, none, half, half]))
    assert [r[0] for r in table.rows] == ["FGSM is weaker than every iterative attack at ε=2",
                                          "FGSM is weaker than every iterative attack at ε=8",
                                          "MIM is the weakest iterative attack at ε=2"]
    assert [r[3] for r in table.rows] == [report.HOLDS, report.CANNOT_TELL, report.HOLDS]
    assert table.rows[0][1].startswith("FGSM 39.46, BIM ")   # the seminar's VGG16, as its table prints it
    assert table.rows[2][2].startswith("MIM − BIM: +50.0 [") and "; MIM − PGD: +50.0 [" in table.rows[2][2]
    # MIM no weaker than the others: the claim does not hold
    flipped = ch01.seminar_claims(fake_rows([every, every, every, half, none, half, none, none, none]))
    assert flipped.rows[2][3] == report.DOES_NOT_HOLD and flipped.rows[1][3] == report.HOLDS


def _ranking_record(p_by_label: dict, n: int = 300, seeds=(0, 1, 2), worst_drop: float = 0.0, fgsm8=None) -> dict:
    """A chapter 2 record whose heads keep each image under each setting with probability
    ``p_by_label[label]`` (seeded coins); the worst case loses ``worst_drop`` of PGD-10's survivors."""
    g = torch.Generator().manual_seed(0)
    bits = al.studies.common.outcome_bits
    models = {}
    for label, p in p_by_label.items():
        for s in seeds:
            out = {}
            for atk, eps, steps in ch01.SEMINAR_SETTINGS:
                q = 0.9 if atk == "clean" else (fgsm8 or p) if (atk, eps) == ("fgsm", 8) else p
                out[ch01.setting_name(atk, eps, steps)] = torch.rand(n, generator=g) < q
            for e in ch02.STRONG_EPS:
                pgd = out[ch01.setting_name("pgd", e, 10)]
                out[f"PGD-10, APGD-CE {e}/255"] = pgd
                out[f"worst {e}/255"] = pgd & (torch.rand(n, generator=g) >= worst_drop)
            models[ch02.seed_name(label, s)] = {"label": label, "seed": s, "outcomes": {k: bits(v) for k, v in out.items()}}
    return {"n": n, "models": models}


def test_chapter_2_ranking_verdicts_over_seeds_and_the_stronger_attack():
    rec = _ranking_record({"CNN (GAP)": 0.2, "attention pooling": 0.6, "ProtoPNet": 0.2})
    means, claims = ch02.ranking(rec)
    assert [r[0] for r in means.rows] == list(ch02.MODELS) and means.rows[0][1] == "6.2"   # the seminar's VGG16
    assert means.header[2:5] == ["ours, seed 0 (300 images)", "ours, seed 1 (300 images)", "ours, seed 2 (300 images)"]
    assert claims.rows[0][4] == report.HOLDS            # attention pooling clearly most robust, under both yardsticks
    assert claims.rows[0][3] == f"seed 0: {report.HOLDS}, seed 1: {report.HOLDS}, seed 2: {report.HOLDS}"
    assert claims.rows[0][1].endswith(f"→ {report.HOLDS}")
    assert claims.rows[1][4] == report.CANNOT_TELL      # below attention pooling, but level with the CNN
    # identical outcomes for every head: equal within 2 points, the claims do not hold
    same = _ranking_record({k: 0.2 for k in ch02.MODELS})
    for m in same["models"].values():
        m["outcomes"] = same["models"][ch02.seed_name("CNN (GAP)", m["seed"])]["outcomes"]
    equal = ch02.ranking(same)[1]
    assert [r[4] for r in equal.rows] == [report.DOES_NOT_HOLD] * 2
    assert "vs CNN (GAP): +0.0 [+0.0, +0.0] (p = 1)" in equal.rows[0][1]
    # attention pooling ahead under the seminar's attacks but not under the stronger one: the worst case decides
    rec_w = _ranking_record({"CNN (GAP)": 0.2, "attention pooling": 0.6, "ProtoPNet": 0.2})
    for s in (0, 1, 2):
        m = rec_w["models"][ch02.seed_name("attention pooling", s)]["outcomes"]
        for e in ch02.STRONG_EPS:
            m[f"worst {e}/255"] = rec_w["models"][ch02.seed_name("CNN (GAP)", s)]["outcomes"][f"worst {e}/255"]
    row = ch02.ranking(rec_w)[1].rows[0]
    assert row[1].endswith(f"→ {report.HOLDS}") and row[4] != report.HOLDS
    assert "Under the seminar's own attacks the verdicts would differ" in ch02.ranking_reading(rec_w)
    table = ch02.seminar_table(ch02.record_rows(rec))
    assert table.header[1:3] == ["VGG16 (seminar, 299)", "CNN (GAP) (ours, 300)"] and len(table.rows) == 9


def test_chapter_2_stronger_attack_and_masking_sign():
    weak = _ranking_record({k: 0.4 for k in ch02.MODELS}, worst_drop=0.5, fgsm8=0.4)
    strong = ch02.strong_table(weak)
    assert [r[0] for r in strong.rows][:2] == ["CNN (GAP), 2/255", "CNN (GAP), 8/255"]
    assert {r[5] for r in strong.rows} == {"PGD-10 weak"}      # half the survivors fall: about 20 points
    fine = ch02.strong_table(_ranking_record({k: 0.4 for k in ch02.MODELS}))
    assert {r[5] for r in fine.rows} == {"PGD-10 adequate"} and fine.rows[0][4].startswith("+0.0 [")
    masked = ch02.masking_table(_ranking_record({k: 0.05 for k in ch02.MODELS}, fgsm8=0.3))
    assert {r[5] for r in masked.rows} == {"yes: one step leaves more than ten"}
    level = ch02.masking_table(_ranking_record({k: 0.05 for k in ch02.MODELS}))
    assert {r[5] for r in level.rows} == {"no"}
    text = ch02.ranking_reading(_ranking_record({"CNN (GAP)": 0.2, "attention pooling": 0.6, "ProtoPNet": 0.2}))
    assert f"“attention pooling is the most robust” {report.HOLDS}" in text and "over 3 training seeds" in text
    assert "Each seed on its own gives the same verdicts." in text
    assert "(attention pooling 12 to 16 points above the other two) is here too." in text
    # ahead at seed 0 only: the pooled verdict holds, and the reading says that the seeds alone disagree
    split = _ranking_record({"CNN (GAP)": 0.2, "attention pooling": 0.6, "ProtoPNet": 0.2})
    for s in (1, 2):
        m = split["models"][ch02.seed_name("attention pooling", s)]["outcomes"]
        for e in ch02.STRONG_EPS:
            m[f"worst {e}/255"] = split["models"][ch02.seed_name("CNN (GAP)", s)]["outcomes"][f"worst {e}/255"]
    text = ch02.ranking_reading(split)
    assert f"“attention pooling is the most robust” {report.HOLDS} at 1 of 3 seeds on its own" in text, text
    level = ch02.ranking_reading(_ranking_record({k: 0.2 for k in ch02.MODELS}))
    assert "is not here: attention pooling's mean is" in level


def test_chapter_2_worst_case_chains_the_attacks_on_the_survivors(tiny_gap, tiny_batch):
    """AutoAttack's order: APGD-CE runs on PGD's survivors, APGD-T on APGD-CE's; an image counts as
    correct only if every attack left it so, and the counts only fall along the chain."""
    import torchattacks
    x, y = tiny_batch
    pgd = al.metrics.correct(tiny_gap, x, y, al.attacks.PGD(tiny_gap, eps=8 / 255, steps=3))
    out = ch02.worst_case(tiny_gap, x, y, pgd, 8 / 255, steps=5)
    alive = pgd.nonzero().flatten()
    ce = al.metrics.correct(tiny_gap, x[alive], y[alive],
                            torchattacks.APGD(tiny_gap, eps=8 / 255, steps=5, seed=0, loss="ce"))
    assert torch.equal(out["apgd_ce"][alive], ce) and not out["apgd_ce"][~pgd].any()   # the library's APGD-CE
    assert not (out["worst"] & ~out["apgd_ce"]).any() and not (out["apgd_ce"] & ~pgd).any()
    none = ch02.worst_case(tiny_gap, x, y, torch.zeros(len(y), dtype=torch.bool), 8 / 255, steps=5)
    assert not none["worst"].any()            # nothing left to attack: nothing run, nothing correct


def test_chapter_2_maps_shift_and_prototypes(tiny_gap, tiny_attention, tiny_proto, tiny_batch):
    x, y = tiny_batch
    res = ch02.maps_before_after(tiny_gap, ("cam", "gradcam"), x, y, steps=2)
    assert set(res["maps"]) == {"cam", "gradcam"} and res["maps"]["cam"][0].shape == (4, 16, 16)
    assert torch.equal(res["q"], al.metrics.predict(tiny_gap, res["x_adv"]))
    models = {"CNN (GAP)": tiny_gap, "attention pooling": tiny_attention, "ProtoPNet": tiny_proto}
    y = al.metrics.predict(tiny_gap, x)          # the CNN's maps on 4 correct images; the others may have none
    results = ch02.shift_results(models, x, y, steps=2, k=25)
    table = ch02.shift_table(results)
    assert [r[0].rsplit(" (", 1)[0] for r in table.rows] == [f"{m}: {h}" for m, h in ch02.SHIFT_MAPS]
    assert table.rows[0][0].endswith("(4 images)") and table.rows[0][1].count("[") == 2   # means with intervals
    verdicts = (report.HOLDS, report.DOES_NOT_HOLD, report.CANNOT_TELL)
    assert all(r[4] in verdicts and r[5] in verdicts for r in table.rows)
    moved = sum(r[4] == report.HOLDS for r in table.rows if "no image" not in r[0])
    assert f"for {moved} of " in ch02.shift_reading(results)


def fake_outcomes(acc):
    """Outcomes of 400 images with the given accuracy per (transform, level, model)."""
    out = {}
    for (t, v, m), a in acc.items():
        k = round(a * 400)
        out.setdefault(t, {}).setdefault(v, {})[m] = torch.arange(400) < k
    return out


def test_chapter_3_claims_and_tables():
    acc = {}
    for m in ch03.MODELS:
        at = m not in ch03.CONTROLS
        acc["saturate", 2, m] = 0.6 if at else 0.8
        acc["stylize", 0.5, m] = 0.45 if at else 0.32    # AT keeps 75 %, controls 40 %
        acc["patch_shuffle", 4, m] = 0.25   # the same accuracy: AT keeps more, the claim "less" fails
    out = fake_outcomes(acc)
    assert ch03.claim_verdicts(out, "stylize", 0.5, "more") == (report.HOLDS, report.HOLDS)
    assert ch03.claim_verdicts(out, "patch_shuffle", 4, "less") == (report.CANNOT_TELL, report.DOES_NOT_HOLD)
    assert ch03.kept(out, "stylize", 0.5, "FGSM 8") == pytest.approx(0.75)
    paper = ch03.paper_table(out)._repr_markdown_().splitlines()
    assert paper[2].startswith("| standard | 20% | 10% | 80.0 [") and paper[2].endswith("| 40% |")
    assert paper[5] == "| PGD-L∞ 4 | 29% | 33% | – | – | – |"          # a recipe we did not train
    assert paper[10].startswith("| PGD-L2 4 / PGD-L2 0.5 | 30% | 33% | 60.0 [")
    full = ch03.paper_accuracy_table()._repr_markdown_().splitlines()
    assert len(full) == 2 + 11 and full[2] == "| standard | 83.32 | 16.83 | 72.02 | 7.25 |"


def test_chapter_3_judges_every_level_and_the_reading_follows_the_verdicts():
    assert {(t, v) for t, v, _ in ch03.CLAIMS} == {(t, v) for t, (_f, _p, lv) in al.transforms.TRANSFORMS.items()
                                                   for v in lv if v != ch03.IDENTITY[t]}
    acc = {}
    for m in ch03.MODELS:
        at = m not in ch03.CONTROLS
        for t, v, _ in ch03.CLAIMS:
            acc[t, v, m] = 0.25
        acc["saturate", 2, m] = 0.6 if at else 0.8
        acc["stylize", 0.5, m] = 0.45 if at else 0.32       # AT keeps 75 %, the controls 40 %
        acc["patch_shuffle", 2, m] = 0.10 if at else 0.50   # AT far below in raw accuracy and kept
    out = fake_outcomes(acc)
    text = ch03.reading(out)
    lines = text.splitlines()
    assert len(lines) == 3 and lines[2].startswith("* **Patch shuffling (k)**")
    assert "in raw accuracy, holds at 2;" in lines[2] and "does not hold at 4, 8" in lines[2]
    # equal raw accuracies from a lower start: the AT models keep more at every strength
    assert "in raw accuracy, holds at 0.5; cannot tell at this sample size at 0.25, 0.75, 1;" in lines[0]
    assert "in the kept fraction, holds at 0.25, 0.5, 0.75, 1." in lines[0]
    assert len(ch03.claims_table(out).rows) == len(ch03.CLAIMS) == 12


def test_chapter_3_matched_noise_has_the_stylisations_norm(tiny_batch):
    x, _ = tiny_batch
    x = 0.25 + 0.5 * x                                   # away from 0 and 1: no clipping
    styl = (x + 0.05 * torch.sin(torch.arange(x.numel()).view(x.shape).float())).clamp(0, 1)
    noisy = ch03.matched_noise(x, styl, seed=3)
    assert torch.allclose((noisy - x).flatten(1).norm(dim=1), (styl - x).flatten(1).norm(dim=1), rtol=1e-4)
    assert torch.equal(noisy, ch03.matched_noise(x, styl, seed=3)) and not torch.equal(noisy, ch03.matched_noise(x, styl, seed=4))
    with pytest.raises(ValueError, match="x_stylized must have the shape"):
        ch03.matched_noise(x, styl[:2])


def test_chapter_3_noise_control_says_what_the_stylisation_shows():
    acc = {}
    for m in ch03.MODELS:
        at = m not in ch03.CONTROLS
        acc["saturate", 2, m] = 0.6 if at else 0.8
        acc["stylize", 0.5, m] = 0.45 if at else 0.32      # AT keep 75 %, controls 40 %
        acc["stylize", 1.0, m] = 0.45 if at else 0.32
    out = fake_outcomes(acc)
    noise = {0.5: fake_outcomes({("n", 0, m): 0.57 if m not in ch03.CONTROLS else 0.38 for m in ch03.MODELS})["n"][0],
             1.0: fake_outcomes({("n", 0, m): 0.3 if m not in ch03.CONTROLS else 0.7 for m in ch03.MODELS})["n"][0]}
    table = ch03.noise_control_table(out, noise)
    assert [r[0] for r in table.rows] == ["0.5", "1"]
    # s = 0.5: AT also keep more under noise (95 % vs 48 %): the lead is noise robustness
    assert table.rows[0][3:] == [report.HOLDS, report.HOLDS, "no more than robustness to noise"]
    assert table.rows[0][1] == "0.75–0.75 / 0.95–0.95"
    # s = 1: under noise the AT models keep less than the controls: the stylisation lead is beyond noise
    assert table.rows[1][3:] == [report.HOLDS, report.DOES_NOT_HOLD, "a lead beyond noise"]


def test_chapter_3_errors_by_texture():
    """Per texture: accuracy stylised / original per model, and the claim judged on that texture's
    images alone (here AT models keep more on grass and less on brick)."""
    styles = ["grass"] * 200 + ["brick"] * 200
    idx = torch.arange(400)
    out = {"saturate": {2: {}}, "stylize": {0.5: {}}}
    for m in ch03.MODELS:
        at = m not in ch03.CONTROLS
        out["saturate"][2][m] = torch.ones(400, dtype=torch.bool)
        grass, brick = (180, 40) if at else (60, 160)
        out["stylize"][0.5][m] = (idx < grass) | ((idx >= 200) & (idx < 200 + brick))
    table = ch03.texture_table(out, styles)
    assert table.header == ["model", "brick (200 images): stylised / original", "grass (200 images): stylised / original"]
    row = dict((r[0], r[1:]) for r in table.rows)
    assert row["standard"][0].startswith("80.0 [") and " / 100.0 [" in row["standard"][0]
    assert row["PGD-L∞ 8"][1].startswith("90.0 [")
    assert table.rows[-1][1:] == [report.DOES_NOT_HOLD, report.HOLDS]
    with pytest.raises(ValueError, match="styles must name the texture of each of the 400 images"):
        ch03.texture_table(out, styles[:10])


def test_chapter_3_controls_table_reads_the_manifest():
    table = ch03.controls_table()
    assert [r[0] for r in table.rows] == list(ch03.MODELS)
    row = dict(zip(ch03.MODELS, table.rows))
    assert row["underfit"][3] == "+0.0"
    std, under = (al.zoo.entry(ch03.MODELS[k])["clean_accuracy"] for k in ("standard", "underfit"))
    assert row["standard"][3] == f"{100 * (std - under):+.1f}"
    assert row["standard"][2] == al.zoo.entry("cifar_resnet8")["recipe"]["epochs"]
    assert f"{row['standard'][1]:.1f}".startswith(f"{100 * std:.1f} [")
    assert round(ch03.PAPER_UNDERFIT_GAP, 2) == 2.63


def test_records_store_outcomes_as_bits_and_say_how_to_build_them(tmp_path):
    ok = torch.tensor([True, False, False, True])
    assert al.studies.common.outcome_bits(ok) == "1001" == al.studies.common.outcome_bits(ok.numpy())
    assert al.studies.common.bits_outcomes("1001").tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match=r"python -m advlab.studies.ch07_layers"):
        al.studies.common.load_record(tmp_path / "missing.json", "ch07_layers")
    # the committed records read as before
    rec = ch01.load_record()
    assert ch01.outcomes(rec, "clean").sum() == rec["outcomes"]["clean"].count("1") and len(ch01.outcomes(rec, "clean")) == rec["n"]


def test_chapter_3_smoothgrad_table_gives_intervals(tiny_gap, tiny_batch):
    import re
    x, y = tiny_batch
    table = ch03.smoothgrad_table({"tiny": tiny_gap}, x, y, batch_size=4)
    assert [r[0] for r in table.rows] == ["tiny", "random map (baseline)"]
    for row in table.rows:
        for cell in row[1:]:
            value, low, high = map(float, re.fullmatch(r"(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]", cell).groups())
            assert low <= value <= high and low < high
