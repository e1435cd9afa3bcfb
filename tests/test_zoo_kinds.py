"""The zoo beyond classifiers: kinds and parents in recipes and the manifest; load, verify, list and
summary on a synthetic zoo (explainer and generator of a tiny classifier) in a temporary directory."""
import json
import types

import pytest
import torch
from torch import nn

import advlab as al
from advlab.zoo import recipes, store, training
from advlab.zoo.__main__ import main


class TinyClassifier(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


class TinyExplainer(nn.Module):  # one map per image
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, padding=1)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


class TinyGenerator(nn.Module):  # an image per image
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return (x + 0.03 * torch.tanh(self.conv(x))).clamp(0, 1)


ARCHS = {"tiny_classifier": TinyClassifier, "tiny_explainer": TinyExplainer, "tiny_generator": TinyGenerator}


def _entry(kind, arch, parent=None, **extra):
    e = {"description": f"a tiny {kind}", "kind": kind, "architecture": arch, "arch_kwargs": {},
         "dataset": "cifar10", "dataset_variant": "synthetic", "seed": 0, "train_seconds": 1.0,
         "hardware": "test", "recipe": {"epochs": 1, "objective": "ce", "adversarial": None}, **extra}
    return dict(e, parent=parent) if parent else e


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "WEIGHTS", tmp_path / "weights")
    monkeypatch.setattr(store, "MANIFEST", tmp_path / "manifest.json")
    for arch, cls in ARCHS.items():
        monkeypatch.setitem(al.models.ARCHITECTURES, arch, cls)
    torch.manual_seed(0)
    store.save("tiny_cls", TinyClassifier(), _entry("classifier", "tiny_classifier", clean_accuracy=0.1,
                                                     robust_accuracy=0.0, clean_eval="-", robust_eval="-"))
    store.save("tiny_expl", TinyExplainer(), _entry("explainer", "tiny_explainer", parent="tiny_cls"))
    store.save("tiny_gen", TinyGenerator(), _entry("generator", "tiny_generator", parent="tiny_cls"))
    return tmp_path


def _edit_manifest(path, name, **changes):
    m = json.loads(path.read_text())
    m[name].update(changes)
    path.write_text(json.dumps(m))


def test_explainers_and_generators_load_with_their_architecture(tiny_zoo):
    x = al.data.subset("cifar10", n=2).x
    expl, gen = al.zoo.load("tiny_expl"), al.zoo.load("tiny_gen")
    assert (expl.zoo_kind, expl.zoo_parent, gen.zoo_kind, gen.zoo_parent) == ("explainer", "tiny_cls", "generator", "tiny_cls")
    assert al.zoo.load("tiny_cls").zoo_parent is None
    with torch.no_grad():
        assert expl(x).shape == (2, 1, 32, 32) and gen(x).shape == x.shape
    assert al.zoo.names() == ["tiny_cls", "tiny_expl", "tiny_gen"]
    assert al.zoo.names("generator") == ["tiny_gen"] and al.zoo.names(kind="classifier") == ["tiny_cls"]
    with pytest.raises(ValueError, match="unknown kind 'detector'; accepted values: classifier, explainer, generator"):
        al.zoo.names("detector")


def test_verify_checks_sha256_and_skips_accuracy_for_other_kinds(tiny_zoo, capsys):
    assert main(["verify", "--subset"]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok ") == 3 and "(explainer: loads, no accuracy)" in out and "(generator: loads" in out
    with open(tiny_zoo / "weights" / "tiny_gen.pt", "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00\x01\x02\x03")
    assert main(["verify", "tiny_gen", "tiny_expl"]) == 1
    out = capsys.readouterr().out
    assert "tiny_gen" in out and "corrupt" in out and out.count(" ok ") == 1


def test_list_and_summary_show_kind_and_parent(tiny_zoo, capsys, monkeypatch):
    monkeypatch.setattr(recipes, "RECIPES", {})
    monkeypatch.setattr(al.zoo, "RECIPES", {})
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "explainer" in out and "(parent: tiny_cls)" in out
    table = al.zoo.summary(["tiny_cls", "tiny_expl"])
    assert "| model | kind | parent | training |" in table
    assert "| `tiny_expl` | explainer | `tiny_cls` | standard | 1 | – | – |" in table
    assert "kind" not in al.zoo.summary(["tiny_cls"])  # classifiers alone: the chapters' table as before


@pytest.mark.parametrize("changes, match", [
    ({"parent": "resnet50"}, "manifest entry 'tiny_expl': parent must name another zoo model .*got 'resnet50'"),
    ({"parent": "tiny_expl"}, "parent must name another zoo model .*a cycle of parents: tiny_expl -> tiny_expl"),
    ({"kind": "detector"}, "kind must be one of classifier, explainer, generator, got 'detector'"),
    ({"kind": None}, "kind must be one of .*got None"),
])
def test_bad_kind_or_parent_in_the_manifest_is_refused(tiny_zoo, changes, match):
    _edit_manifest(tiny_zoo / "manifest.json", "tiny_expl", **changes)
    with pytest.raises(ValueError, match=match):
        al.zoo.load("tiny_expl")


def test_a_missing_parent_is_refused(tiny_zoo):
    m = json.loads((tiny_zoo / "manifest.json").read_text())
    del m["tiny_cls"]
    (tiny_zoo / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match="parent must name another zoo model .*got 'tiny_cls'"):
        al.zoo.entry("tiny_gen")


def _chapter(name, **recipes_):
    return types.SimpleNamespace(__name__=name, RECIPES=recipes_)


def test_recipes_merge_checks_names_kinds_and_parents():
    cls, expl = {"kind": "classifier"}, {"kind": "explainer", "parent": "a"}
    assert recipes.merge(_chapter("ch1", a=cls), _chapter("ch2", b=expl)) == {"a": cls, "b": expl}
    with pytest.raises(ValueError, match="recipe 'b': parent must name another zoo model .*got 'a'"):
        recipes.merge(_chapter("ch2", b=expl))
    with pytest.raises(ValueError, match="recipe 'a' is defined in both ch1 and ch2"):
        recipes.merge(_chapter("ch1", a=cls), _chapter("ch2", a=cls))
    with pytest.raises(ValueError, match="recipe 'a': kind must be one of"):
        recipes.merge(_chapter("ch1", a={}))
    with pytest.raises(ValueError, match="a cycle of parents: a -> b -> a"):
        recipes.merge(_chapter("ch1", a={"kind": "generator", "parent": "b"}, b={"kind": "explainer", "parent": "a"}))


class _Mimic(al.train.Objective):
    """Test objective: the explainer learns the parent's softmax confidence as a constant map."""

    name = "mimic"

    def loss(self, model, x, y, context):
        assert context.parent is not None and context.parent.zoo_name == "tiny_cls" and not context.parent.training
        with torch.no_grad():
            target = context.parent(x).softmax(1).amax(1)
        return ((model(x).mean((1, 2, 3)) - target) ** 2).mean()

    @classmethod
    def from_recipe(cls, recipe):
        return cls()


def test_training_an_explainer_loads_its_parent_and_records_no_accuracy(tiny_zoo, monkeypatch, capsys):
    g = torch.Generator().manual_seed(0)
    sets = {s: al.data.TensorSet(torch.rand(32, 3, 16, 16, generator=g), torch.arange(32) % 4, "cifar10", s,
                                 "synthetic") for s in ("train", "test")}
    monkeypatch.setattr(al.data, "tensors", lambda name, split="test", download=False: sets[split])
    monkeypatch.setenv("ADVLAB_DATA", str(tiny_zoo))
    monkeypatch.setitem(al.train.OBJECTIVES, "mimic", _Mimic)
    recipe = {"description": "a tiny saliency model of tiny_cls", "kind": "explainer", "parent": "tiny_cls",
              "objective": "mimic", "arch": "tiny_explainer", "arch_kwargs": {}, "dataset": "cifar10",
              "epochs": 2, "batch_size": 8, "seed": 0, "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0,
              "schedule": "onecycle", "augment": None}
    monkeypatch.setitem(recipes.RECIPES, "tiny_cls", dict(recipe, kind="classifier", parent=None, objective="ce"))
    monkeypatch.setitem(recipes.RECIPES, "tiny_saliency", recipe)
    e = training.train("tiny_saliency", progress=False, device="cpu")
    assert e["kind"] == "explainer" and e["parent"] == "tiny_cls" and "clean_accuracy" not in e
    assert "test acc" not in capsys.readouterr().out
    assert al.zoo.load("tiny_saliency").zoo_parent == "tiny_cls"
    assert main(["train", "tiny_saliency"]) == 0
    assert "tiny_saliency: explainer," in capsys.readouterr().out
    monkeypatch.setitem(recipes.RECIPES, "orphan", dict(recipe, parent="nobody"))
    with pytest.raises(ValueError, match="recipe 'orphan': parent must name another zoo model"):
        training.train("orphan")


@pytest.mark.parametrize("argv", [["train", "resnet50"], ["verify", "resnet50"]])
def test_cli_unknown_name_is_one_line_and_nonzero(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model name 'resnet50'; accepted values: " in err
    assert "Traceback" not in err
