"""Chapter 5's study: the record's tables and verdicts computed from known numbers, the samples,
the adaptive objective, and the committed record itself."""
import pytest
import torch

import advlab as al
from advlab import report, squeeze

S = al.studies.ch05_under_fire


def _record(n=60, asr=None, l1=None, detected=None):
    """A synthetic record: per attack, success, confidence, L1/IoU per interpreter, detections."""
    g = torch.Generator().manual_seed(0)
    asr = asr or {}
    l1 = l1 or {}
    detected = detected or {}
    attacks = {}
    for name in S.ATTACKS:
        ok = (torch.rand(n, generator=g) < asr.get(name, 1.0)).tolist()
        dist = {k: (torch.full((n,), l1.get((name, k), 0.2)) + 0.01 * torch.rand(n, generator=g)).tolist()
                for k in S.INTERPRETERS}
        attacks[name] = {"success": ok, "confidence": [0.9] * n, "l1": dist,
                         "iou": {k: [0.5] * n for k in S.INTERPRETERS},
                         "detected": {s: (torch.rand(n, generator=g) < detected.get((name, s), 0.5)).tolist()
                                      for s in (*squeeze.TABLE4, squeeze.JOINT)}}
    return {"n": n, "attacks": attacks, "clean": {"detected": {s: [False] * n for s in (*squeeze.TABLE4, "joint")}},
            "settings": {"per_class": 10}}


def test_claims_follow_the_numbers():
    # ADV² as successful as PGD, maps much closer under ADV² on its own interpreter, poor transfer,
    # the adaptive attack evades, the ensemble cannot keep all four maps close
    l1 = {("PGD", k): 0.25 for k in S.INTERPRETERS}
    l1.update({(f"ADV2-{k}", k): 0.05 for k in S.INTERPRETERS})
    l1.update({("ADV2-ensemble", k): 0.05 for k in S.INTERPRETERS})
    l1[("ADV2-ensemble", "MASK")] = 0.3
    det = {(f"ADV2-{k}", s): 0.9 for k in ("MASK", "RTS") for s in squeeze.TABLE4}
    det.update({(f"ADV2*-{k}", s): 0.1 for k in ("MASK", "RTS") for s in squeeze.TABLE4})
    v = S.claim_verdicts(_record(200, l1=l1, detected=det))
    assert v == [report.HOLDS] * 5
    # ADV²'s maps farther than PGD's: claim 2 does not hold; as far: cannot tell; the adaptive attack
    # flagged as often as the basic one: claim 4 cannot tell
    v = S.claim_verdicts(_record(200, l1={("PGD", k): 0.1 for k in S.INTERPRETERS}, detected={}))
    assert v[1] == report.DOES_NOT_HOLD and v[3] == report.CANNOT_TELL
    assert S.claim_verdicts(_record(200))[1] == report.CANNOT_TELL
    # ADV² reaching far fewer targets than PGD: claim 1 does not hold
    v = S.claim_verdicts(_record(200, asr={f"ADV2-{k}": 0.5 for k in S.INTERPRETERS}))
    assert v[0] == report.DOES_NOT_HOLD


def test_tables_have_one_row_per_entry():
    r = _record()
    assert [row[0] for row in S.table3(r).rows] == ["PGD", *[f"ADV2-{k}" for k in S.INTERPRETERS]]
    assert len(S.distance_table(r).rows) == 4 and len(S.transfer_table(r).rows) == 5
    sq = S.squeeze_table(r)
    assert [row[0] for row in sq.rows] == list(squeeze.TABLE4)
    assert "(92.3)" in sq.rows[0][2]                     # the paper's 2-bit PGD detection rate beside ours
    assert len(S.ensemble_table(r).rows) == 5 and len(S.claims_table(r).rows) == len(S.CLAIMS)
    assert "claim 5" in S.reading(r)


def test_samples_and_targets():
    cal, (x, y) = S.samples(per_class=3)
    assert torch.bincount(y, minlength=10).tolist() == [3] * 10 and len(cal) == 1000 - 30
    _, (x10, _) = S.samples(per_class=10)
    first3 = torch.cat([torch.arange(c * 10, c * 10 + 3) for c in range(10)])
    assert torch.equal(x10[first3], x)                    # the live check's images are in the record's sample
    t = S.targets(y)
    assert (t != y).all() and torch.equal(t, S.targets(y))


def test_adaptive_objective_subtracts_the_squeeze_scores():
    model = al.zoo.load("cifar_resnet8")
    x, y = al.data.subset("cifar10", 6).x, al.data.subset("cifar10", 6).y
    det = squeeze.Detector(model, ["bit-2", "median-3"], fpr=0.05).fit(al.data.subset("cifar10").x[500:700])
    base = al.attacks.objectives.ADV2(al.interpret.CAM(model), lam=1.0)
    adaptive = S.Adaptive(base, det, weight=3.0)
    xa = (x + 0.03).clamp(0, 1)
    t = (y + 1) % 10
    scores = det.differentiable_score(xa)
    expected = base.prepare(model, x, t)(xa) - 3.0 * (scores["bit-2"] + scores["median-3"])
    assert torch.allclose(adaptive.prepare(model, x, t)(xa), expected, atol=1e-5)
    with pytest.raises(ValueError, match="detector"):
        S.make_attack(model, "ADV2*-CAM")


def test_the_committed_record_matches_the_settings():
    record = S.load()
    s = record["settings"]
    assert s["eps"] == S.EPS and s["steps"] == S.STEPS and s["per_class"] == S.PER_CLASS
    assert set(record["attacks"]) == set(S.ATTACKS)
    n = record["n"]
    for r in record["attacks"].values():
        assert len(r["success"]) == n and set(r["l1"]) == set(S.INTERPRETERS)
    # the recorded images are the sample's correctly classified ones
    _, (x, y) = S.samples(per_class=s["per_class"])
    assert int((al.metrics.predict(al.zoo.load(S.MODEL), x) == y).sum()) == n
