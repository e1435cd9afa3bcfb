"""The zoo: every manifest entry loads, checks its sha256, and performs as recorded."""
import json
import shutil

import pytest
import torch

import advlab as al
from advlab.zoo import store

NAMES = al.zoo.names()
TARGETS = {"mnist_cnn": 0.99, "mnist_cnn_at": 0.97, "cifar_gap_cnn": 0.85,
           # chapters 2 and 3: the ResNet-8 heads (seminar: VGG16 88.96, attention 84.62, ProtoPNet 76.92)
           "cifar_resnet8": 0.78, "cifar_attention_pool": 0.78, "cifar_protopnet": 0.72}


def test_the_required_models_exist():
    assert set(TARGETS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_load_and_manifest(name):
    e = al.zoo.entry(name)
    for key in ("kind", "architecture", "dataset", "dataset_variant", "recipe", "seed", "train_seconds",
                "sha256", "hardware"):
        assert key in e, key
    model = al.zoo.load(name)
    assert not model.training and model.zoo_kind == e["kind"]
    if e["kind"] != "classifier":
        return
    s = al.data.subset(e["dataset"])
    with torch.no_grad():
        assert model(s.x[:2]).shape == (2, 10)
    # the bundled subset is part of the full test set, so accuracy is close to the manifest's
    acc = al.metrics.accuracy(model, s.x, s.y)
    assert abs(acc - e["clean_accuracy"]) < 0.04, (acc, e["clean_accuracy"])


@pytest.mark.parametrize("name", NAMES)
def test_manifest_records_the_recipe_that_trained_the_weights(name):
    # the recipe (kind and objective included) is recorded verbatim: change one, retrain the model
    e = al.zoo.entry(name)
    assert e["recipe"] == json.loads(json.dumps(al.zoo.RECIPES[name]))
    assert e["kind"] == e["recipe"]["kind"] and e.get("parent") == e["recipe"].get("parent")
    assert e["recipe"]["objective"] in al.train.OBJECTIVES


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_manifest_meets_targets(name):
    assert al.zoo.entry(name)["clean_accuracy"] >= TARGETS[name]


def test_adversarially_trained_meets_robust_target():
    e = al.zoo.entry("mnist_cnn_at")
    assert "PGD-40" in e["robust_eval"] and e["robust_accuracy"] >= 0.89


# Shape vs texture: adversarial training must buy robustness (PGD-20, L-inf 8/255) at a cost in
# clean accuracy, and the underfit model must sit near the robust models' clean accuracy.
SHAPE_TEXTURE_AT = ["cifar_resnet8_pgd_linf2", "cifar_resnet8_pgd_linf8", "cifar_resnet8_pgd_l2", "cifar_resnet8_fgsm8"]


@pytest.mark.parametrize("name", SHAPE_TEXTURE_AT)
def test_adversarial_training_trades_clean_for_robust_accuracy(name):
    std, e = al.zoo.entry("cifar_resnet8"), al.zoo.entry(name)
    assert "PGD-20 L-inf eps=0.03137" in e["robust_eval"]
    assert e["robust_accuracy"] >= std["robust_accuracy"] + 0.10
    assert e["clean_accuracy"] < std["clean_accuracy"]


def test_underfit_matches_the_robust_models_clean_accuracy():
    under = al.zoo.entry("cifar_resnet8_underfit")["clean_accuracy"]
    at = [al.zoo.entry(n)["clean_accuracy"] for n in SHAPE_TEXTURE_AT]
    assert min(at) - 0.05 <= under <= max(at) + 0.05 and under < al.zoo.entry("cifar_resnet8")["clean_accuracy"] - 0.1


def test_unknown_name():
    with pytest.raises(ValueError, match="mnist_cnn"):
        al.zoo.load("resnet50")


def test_missing_and_corrupt_weights(tmp_path, monkeypatch):
    name = "mnist_cnn"
    monkeypatch.setattr(store, "WEIGHTS", tmp_path)
    with pytest.raises(al.zoo.WeightsError, match=f"missing.*python -m advlab.zoo train {name}"):
        al.zoo.load(name)
    f = tmp_path / al.zoo.entry(name)["file"]
    shutil.copy(store.ROOT / "weights" / f.name, f)
    al.zoo.load(name)
    with open(f, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(al.zoo.WeightsError, match=f"{f.name}.*corrupt.*python -m advlab.zoo train {name}"):
        al.zoo.load(name)


def test_cli_list_runs(capsys):
    from advlab.zoo.__main__ import main
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in NAMES)


def test_cli_verify_on_subsets(capsys):
    from advlab.zoo.__main__ import main
    assert main(["verify", "--subset"]) == 0
    assert capsys.readouterr().out.count(" ok ") == len(NAMES)


@pytest.mark.slow
@pytest.mark.skipif(not al.data.offline_copies(), reason="needs ADVLAB_DATASETS (scripts/test.sh sets it when ../shared/datasets exists)")
def test_cli_verify_reproduces_the_manifest_on_full_test_sets(tmp_path, monkeypatch, capsys):
    from advlab.zoo.__main__ import main
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path))
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok ") == len(NAMES) and "10000 images" in out


def test_protopnet_prototypes_were_pushed_onto_training_images_of_their_class():
    m = al.zoo.load("cifar_protopnet")
    assert (m.proto_source >= 0).all() and (m.proto_locations >= 0).all()
    # each stored source image is a real picture (not the zero initialisation)
    assert (m.proto_images.flatten(1).float().std(1) > 5).all()
    # the prototype equals the latent patch of its stored image at its stored position
    x = m.proto_images.float() / 255
    with torch.no_grad():
        z = m.add_on(m.features(m.stem(m.normalize(x))))
    r, c = m.proto_locations[:, 0], m.proto_locations[:, 1]
    patches = z[torch.arange(len(x)), :, r, c]
    # the images were stored as uint8, so the patch is close, not identical
    assert (patches - m.prototypes[:, :, 0, 0]).abs().max() < 0.05
