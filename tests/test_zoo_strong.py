"""The stronger yardstick (APGD-CE + targeted APGD-DLR beside each model's PGD figure): what the
manifest records is consistent, and the function that records it measures and writes it."""
import json

import pytest

import advlab as al
from advlab.zoo import store, strong

RECORDED = {n: e["evaluations"]["strong"] for n, e in al.zoo.manifest().items() if "strong" in e.get("evaluations", {})}


def test_every_model_with_a_quoted_robust_accuracy_has_a_strong_record():
    robust = {n for n, e in al.zoo.manifest().items() if e.get("robust_accuracy", 0) > 0 and "table1" not in
              e.get("evaluations", {})}
    assert robust and robust <= set(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_worst_case_is_at_most_every_attack_and_the_images_are_the_robust_evals(name):
    r, e = RECORDED[name], al.zoo.manifest()[name]
    assert r["n"] == e["recipe"]["robust_eval"]["n"] and r["eps"] == pytest.approx(e["recipe"]["robust_eval"]["eps"])
    assert 0 <= r["worst"] <= min(r["pgd"], r["apgd_ce"], r["apgd_t_dlr"]) <= r["n"]
    # the recorded PGD figure is the manifest's robust accuracy up to a few images (GPU vs CPU rounding)
    assert abs(r["pgd"] / r["n"] - e["robust_accuracy"]) <= 0.01


def test_strong_eval_measures_and_records(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    entries = al.zoo.manifest()
    entry = json.loads(json.dumps(entries["mnist_cnn_at"]))
    entry["recipe"]["robust_eval"] = dict(entry["recipe"]["robust_eval"], n=12, steps=3)
    manifest.write_text(json.dumps({"mnist_cnn_at": entry}))
    monkeypatch.setattr(store, "MANIFEST", manifest)
    monkeypatch.setattr(strong, "STEPS", 3)
    r = strong.strong_eval("mnist_cnn_at", device="cpu")
    saved = json.loads(manifest.read_text())["mnist_cnn_at"]
    assert saved["evaluations"]["strong"] == r and saved["sha256"] == entry["sha256"]
    assert r["n"] == 12 and 0 <= r["worst"] <= min(r["pgd"], r["apgd_ce"], r["apgd_t_dlr"]) <= 12
    # an undefended model keeps nothing under any of the three
    monkeypatch.setattr(store, "MANIFEST", tmp_path / "m2.json")
    e2 = json.loads(json.dumps(entries["mnist_cnn"]))
    e2["recipe"]["robust_eval"] = dict(e2["recipe"]["robust_eval"], n=12, steps=10)
    (tmp_path / "m2.json").write_text(json.dumps({"mnist_cnn": e2}))
    assert strong.strong_eval("mnist_cnn", device="cpu")["worst"] == 0


def test_chapters_read_the_worst_case_and_name_the_models_with_a_gap(monkeypatch):
    from advlab.studies import common
    rec = al.zoo.manifest()["mnist_cnn_at"]["evaluations"]["strong"]
    assert common.manifest_worst("mnist_cnn_at").k == rec["worst"]
    entries = {"a": {"robust": 0.50, "worst": 0.40}, "b": {"robust": 0.50, "worst": 0.49}, "c": {"robust": 0.0, "worst": 0.0}}
    monkeypatch.setattr(common, "manifest_rates", lambda n: (None, al.report.rate(int(1000 * entries[n]["robust"]), 1000)))
    monkeypatch.setattr(common, "manifest_worst", lambda n: al.report.rate(int(1000 * entries[n]["worst"]), 1000))
    text = common.strong_reading(["a", "b", "c"])
    assert "`a` (50.0 → 40.0 %)" in text and "lose more than 3 points" in text
    assert "Within 3 points of their PGD figure: `b` (50.0 → 49.0 %)" in text and "`c`" not in text
