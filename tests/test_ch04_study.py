"""Chapter 4's study: the verdicts and the words come from the records (hand-made records here),
the sample is stratified and seeded, and the recorded tables are complete and consistent."""
import torch

import advlab as al
from advlab.report import DOES_NOT_HOLD, HOLDS

S = al.studies.ch04_robust_interpretation


def _records(monkeypatch, beyond: dict):
    """Full-set records where, at ε = 0.35 and 0.4, each model keeps ``beyond[label]`` of 10,000."""
    def recorded(label):
        rows = []
        for e in S.EPS:
            k = 9000 if e <= 0.3 else beyond[label]
            rows.append({"eps": e, "pgd200": k} if e == 0 else
                        {"eps": e, "pgd200": k, "apgd_ce": k, "apgd_t_dlr": k, "worst": k})
        return {"n": 10000, "rows": rows}
    monkeypatch.setattr(S, "recorded", recorded)


def test_headline_holds_when_the_int_models_keep_accuracy_beyond_the_training_eps(monkeypatch):
    _records(monkeypatch, {"Normal": 0, "Adv": 100, "TRADES": 0, "Int2": 5000, "Int2-Adv": 6000})
    verdicts = [row[-1] for row in S.headline().rows]
    assert verdicts == [HOLDS] * 4
    assert "**holds**" in S.reading() and "Int2-Adv" in S.reading()


def test_headline_does_not_hold_when_every_model_collapses(monkeypatch):
    _records(monkeypatch, {"Normal": 0, "Adv": 10, "TRADES": 0, "Int2": 20, "Int2-Adv": 0})
    assert [row[-1] for row in S.headline().rows] == [DOES_NOT_HOLD] * 4
    assert "**does not hold**" in S.reading()


def test_recorded_tables_are_complete_and_the_worst_case_is_the_least():
    for label in S.MODELS:
        rec = S.recorded(label)
        assert rec["n"] == 10000 and [r["eps"] for r in rec["rows"]] == list(S.EPS)
        for r in rec["rows"][1:]:
            assert r["worst"] <= min(r["pgd200"], r["apgd_ce"], r["apgd_t_dlr"])
    table = S.table1()
    assert len(table.rows) == 3 * len(S.MODELS) and len(table.header) == 1 + len(S.EPS)


def test_sample_is_stratified_seeded_and_not_the_first_images():
    x, y = S.sample(per_class=5, seed=3)
    assert torch.bincount(y, minlength=10).tolist() == [5] * 10
    x2, _ = S.sample(per_class=5, seed=3)
    assert torch.equal(x, x2) and not torch.equal(x, S.sample(per_class=5, seed=4)[0])
    first = al.data.subset("mnist", 50).x
    assert not torch.equal(x.sort(0).values, first.sort(0).values)
