"""The training loop on a tiny synthetic set: through the zoo (ProtoPNet's push, resuming) and on
tensors directly (seeded, resumable, the objective's finalize, argument checks)."""
import pytest
import torch

import advlab as al
from advlab.train import fit
from advlab.zoo import recipes, store
from advlab.zoo import training as train


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    g = torch.Generator().manual_seed(0)
    sets = {split: al.data.TensorSet(torch.rand(64, 3, 16, 16, generator=g), torch.arange(64) % 4,
                                     "cifar10", split, "synthetic") for split in ("train", "test")}
    monkeypatch.setattr(al.data, "tensors", lambda name, split="test", download=False: sets[split])
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path))
    monkeypatch.setattr(store, "WEIGHTS", tmp_path / "weights")
    monkeypatch.setattr(store, "MANIFEST", tmp_path / "manifest.json")
    base = dict(recipes.RECIPES["cifar_protopnet"], epochs=2, batch_size=16,
                arch_kwargs={"depth": 8, "width": 4, "prototypes_per_class": 2, "proto_dim": 8,
                             "num_classes": 4, "image_size": 16},
                robust_eval=dict(recipes.RECIPES["cifar_protopnet"]["robust_eval"], n=8, steps=2),
                finalize={"last_layer_epochs": 2})
    monkeypatch.setitem(recipes.RECIPES, "tiny_protopnet", base)
    return sets


def test_protopnet_trains_pushes_and_resumes(tiny_zoo, capsys):
    entry = train.train("tiny_protopnet", progress=False)
    assert entry["params"] > 0 and 0 <= entry["clean_accuracy"] <= 1
    assert store.sha256(store.weight_file("tiny_protopnet")) == al.zoo.entry("tiny_protopnet")["sha256"]
    m = al.zoo.load("tiny_protopnet")
    x, y = tiny_zoo["train"].x, tiny_zoo["train"].y
    # every prototype was pushed onto a training image of its own class, at a patch of that image
    assert (m.proto_source >= 0).all()
    assert torch.equal(y[m.proto_source], m.prototype_class)
    with torch.no_grad():
        z = m.add_on(m.features(m.stem(m.normalize(x[m.proto_source]))))
    for j, (r, c) in enumerate(m.proto_locations.tolist()):
        assert torch.allclose(z[j, :, r, c], m.prototypes[j, :, 0, 0], atol=1e-5)
        assert torch.equal(m.proto_images[j], (x[m.proto_source[j]] * 255).round().to(torch.uint8))
    # a second run resumes from the checkpoint after the last epoch: no epoch is trained again
    capsys.readouterr()
    train.train("tiny_protopnet", progress=False)
    out = capsys.readouterr().out
    assert "resuming tiny_protopnet from epoch 2" in out and "epoch 1:" not in out


def test_protopnet_losses_pull_and_push():
    torch.manual_seed(0)
    m = al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=4, image_size=16)
    x, y = torch.rand(8, 3, 16, 16), torch.arange(8) % 4
    plain = m.loss(x, y, cluster=0.0, separation=0.0)
    assert torch.allclose(plain, torch.nn.functional.cross_entropy(m(x), y))
    d = m.distances(x).flatten(2).amin(2)
    own = m.prototype_class[None] == y[:, None]
    clst = torch.where(own, d, torch.tensor(1e9)).amin(1).mean()
    assert torch.allclose(m.loss(x, y, cluster=1.0, separation=0.0), plain + clst)
    # the last layer starts with +1 to the own class and -0.5 to the others
    w = m.last.weight
    assert torch.all(w[m.prototype_class, torch.arange(8)] == 1) and (w == -0.5).sum() == 8 * 3


def test_attention_pool_scores_are_pooled_attention():
    torch.manual_seed(0)
    m = al.models.AttentionPoolNet(width=4, num_classes=5).eval()
    x = torch.rand(3, 3, 16, 16)
    b, t = m.attention_maps(x)
    assert b.shape == (3, 4, 4) and t.shape == (3, 5, 4, 4)
    assert torch.allclose(m(x), (t * b[:, None]).flatten(2).mean(2), atol=1e-6)


class _Counting(al.train.CrossEntropy):
    """Cross-entropy that records the contexts it saw and is finalised once."""

    def __init__(self):
        super().__init__()
        self.steps, self.finalized = [], 0

    def loss(self, model, x, y, context):
        self.steps.append((context.epoch, context.step, len(x)))
        return super().loss(model, x, y, context)

    def finalize(self, model, train_x, train_y):
        self.finalized += 1


def _tiny(seed=0):
    torch.manual_seed(seed)
    return al.models.ResNet(depth=8, width=4, num_classes=4)


class _Interrupt(Exception):
    pass


def _stop_after(epochs):
    seen = []

    def evaluate(model):
        seen.append(1)
        if len(seen) > epochs:
            raise _Interrupt
        return "ok"
    return evaluate


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_fit_on_tensors_is_seeded_and_finalizes_once():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(56, 3, 16, 16, generator=g), torch.arange(56) % 4
    kw = dict(epochs=2, batch_size=16, lr=0.05, augment="crop_flip", seed=3, device="cpu", progress=False)
    obj = _Counting()
    a = fit(_tiny(), (x, y), obj, **kw)
    # 56 // 16 = 3 steps an epoch (the last incomplete batch is dropped), counted from the start
    assert [s[1] for s in obj.steps] == list(range(6)) and {s[2] for s in obj.steps} == {16}
    assert [s[0] for s in obj.steps] == [0, 0, 0, 1, 1, 1] and obj.finalized == 1
    assert not a.model.training and a.seconds > 0
    assert _same(a.model, fit(_tiny(), (x, y), _Counting(), **kw).model)
    assert not _same(a.model, fit(_tiny(), (x, y), _Counting(), **dict(kw, seed=4)).model)


def test_fit_resumes_an_interrupted_run_to_the_same_weights(tmp_path, capsys):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(48, 3, 16, 16, generator=g), torch.arange(48) % 4
    kw = dict(epochs=3, batch_size=16, lr=0.01, optimizer="adam", augment="crop_flip", seed=0, device="cpu",
              progress=False, name="tiny")
    whole = fit(_tiny(), (x, y), al.train.CrossEntropy(), **kw).model
    ckpt = tmp_path / "tiny.ckpt"
    with pytest.raises(_Interrupt):  # stopped after the first epoch's checkpoint was written
        fit(_tiny(), (x, y), al.train.CrossEntropy(), **kw, checkpoint=ckpt, evaluate=_stop_after(1))
    assert torch.load(ckpt)["epoch"] == 1
    capsys.readouterr()
    resumed = fit(_tiny(seed=1), (x, y), al.train.CrossEntropy(), **kw, checkpoint=ckpt).model
    out = capsys.readouterr().out
    assert "resuming tiny from epoch 1" in out and "tiny epoch 1:" not in out and "tiny epoch 3:" in out
    assert _same(whole, resumed)
    assert not _same(whole, fit(_tiny(seed=1), (x, y), al.train.CrossEntropy(), **kw, checkpoint=ckpt,
                                resume=False).model)


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'; accepted values: sgd, adam"),
    (dict(augment="mixup"), "unknown augment 'mixup'; accepted values: None, crop_flip"),
    (dict(batch_size=100), r"batch_size must be in \[1, 8\], got 100"),
    (dict(epochs=-1), r"epochs must be in \[0, 100000\], got -1"),
])
def test_fit_names_the_bad_argument(kwargs, match):
    x, y = torch.rand(8, 3, 16, 16), torch.arange(8) % 4
    with pytest.raises(ValueError, match=match):
        fit(_tiny(), (x, y), al.train.CrossEntropy(), **dict(dict(epochs=1, batch_size=4, lr=0.1), **kwargs))


@pytest.mark.parametrize("train, match", [
    ((torch.rand(8, 3, 16, 16), torch.arange(8) % 4 + 4), r"train labels holds a class index outside 0\.\.3"),
    ((torch.rand(8, 1, 16, 16), torch.arange(8) % 4), r"train images must be N×3×any×any"),
    ((torch.rand(8, 3, 16, 16).double(), torch.arange(8) % 4), "train images has dtype torch.float64"),
    ((torch.rand(8, 3, 16, 16) * 2, torch.arange(8) % 4), r"train images must hold pixels in \[0, 1\]"),
    ((torch.rand(8, 3, 16, 16), torch.arange(7) % 4), "train labels must be a 1-D tensor of as many labels"),
    ((torch.rand(8, 3, 16, 16),), "train must be a TensorSet or an \\(x, y\\) pair"),
    ((torch.rand(8, 3, 16, 16), torch.arange(8) % 4 == 0), "train labels must hold integer class indices"),
])
def test_fit_checks_the_training_set_against_the_model(train, match):
    """The 4-class tiny model: labels beyond its logits, images it cannot take, a short label list."""
    with pytest.raises(ValueError, match=match):
        fit(_tiny(), train, al.train.CrossEntropy(), epochs=1, batch_size=4, lr=0.1, progress=False)
