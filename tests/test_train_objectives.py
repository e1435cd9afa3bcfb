"""Training objectives: the registry's contract (every objective, by being listed), and what each
one computes: adversarial objectives really train on adversarial examples, TRADES reduces to CE."""
import copy
import inspect

import pytest
import torch
import torch.nn.functional as F

import advlab as al
from advlab.train import OBJECTIVES, Context

TRADES_READY = "loss" in inspect.signature(al.attacks.Attack.__init__).parameters
CHAPTER = {"ce": None, "pgd_at": ["chapter 1", "chapter 3"], "fgsm_rs": ["chapter 3"],
           "protopnet": ["chapter 2"], "trades": ["chapter 4"], "int": ["chapter 4"], "int2": ["chapter 4"],
           "int2_adv": ["chapter 4"], "rts": ["chapter 5"],
           "interpret_gan": ["chapter 7"]}


@pytest.fixture
def tiny_resnet():
    torch.manual_seed(0)
    return al.models.ResNet(depth=8, width=4, num_classes=4).train()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.rand(8, 3, 16, 16, generator=g), torch.arange(8) % 4


def _model(objective, tiny_resnet):
    if objective.requires == "explain_latent":  # a generator of chapter 7's classifier (its parent)
        torch.manual_seed(0)
        parent = al.models.LayeredCNN().eval()
        g = al.models.ExplanationGenerator("conv2", code=8)
        g.init_from(parent)
        return g.train(), parent
    if objective.requires == "init_from":  # an explainer of the tiny ResNet (its parent)
        torch.manual_seed(0)
        return al.models.SaliencyNet(depth=8, width=4, num_classes=4).init_from(tiny_resnet).train()
    if objective.requires:
        torch.manual_seed(0)
        return al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=4,
                                   image_size=16).train()
    return tiny_resnet


def _needs_trades(name):
    if name == "trades" and not TRADES_READY:
        pytest.skip("attacks.PGD(loss='trades_kl') is not on this branch yet")


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_gives_a_finite_scalar_with_gradients(name, tiny_resnet, batch):
    _needs_trades(name)
    objective = OBJECTIVES[name]()
    model = _model(objective, tiny_resnet)
    parent = tiny_resnet.eval() if objective.requires == "init_from" else None
    if isinstance(model, tuple):  # a generator and its MNIST classifier, on digit-sized images
        model, parent = model
        batch = (torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 4)
    flags = [p.requires_grad for p in model.parameters()]
    loss = objective.loss(model, *batch, Context(step=3, steps_per_epoch=4, parent=parent))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert model.training and [p.requires_grad for p in model.parameters()] == flags


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_names_its_paper_chapter_and_builds_from_a_recipe(name):
    cls = OBJECTIVES[name]
    for chapter in CHAPTER[name] or []:
        assert chapter in cls.__doc__, (name, chapter)
    recipe = {"objective": name, "label_smoothing": 0.0, "adversarial": None}
    assert isinstance(al.train.from_recipe(recipe), cls)


def test_every_zoo_recipe_maps_onto_a_registered_objective():
    for name, recipe in al.zoo.RECIPES.items():
        objective = al.train.from_recipe(recipe)
        assert objective.name == recipe["objective"], name
        adv = recipe["adversarial"]
        if adv:
            assert (objective.eps, objective.ramp_epochs, objective.alpha) == (adv["eps"], adv["ramp_epochs"], adv["alpha"])


def test_unknown_objective_and_mismatched_attack_are_refused():
    with pytest.raises(ValueError, match="unknown objective 'mixup'; accepted values: ce, pgd_at"):
        al.train.make("mixup")
    with pytest.raises(ValueError, match=r"recipe\['objective'\]"):
        al.train.from_recipe({"label_smoothing": 0.0})
    with pytest.raises(ValueError, match=r"recipe\['adversarial'\]\['attack'\] must be 'pgd'.*got 'fgsm'"):
        al.train.from_recipe({"objective": "pgd_at", "adversarial": {"attack": "fgsm", "eps": 0.1}})
    with pytest.raises(ValueError, match="model must be a ProtoPNet"):
        OBJECTIVES["protopnet"]().loss(torch.nn.Linear(2, 2), torch.zeros(1, 2), torch.zeros(1).long(), Context())


def test_context_ramps_and_seeds_as_the_zoo_always_did():
    c = Context(epoch=1, step=14, steps_per_epoch=10, seed=3)
    assert c.ramp(2) == 15 / 20 and c.ramp(1) == 1.0 and c.ramp(0) == 1.0
    assert c.attack_seed == 3 * 10**6 + 14
    assert Context(step=14, seed=3, rank=1).attack_seed != c.attack_seed


@pytest.mark.parametrize("name, attack", [("pgd_at", "pgd"), ("fgsm_rs", "fgsm")])
def test_adversarial_objectives_take_the_loss_at_the_ramped_attack(name, attack, tiny_resnet, batch):
    x, y = batch
    objective = al.train.make(name, eps=0.5, alpha=0.2, ramp_epochs=1)
    context = Context(step=1, steps_per_epoch=4, seed=5)  # half-way through the ramp
    before = copy.deepcopy(tiny_resnet)  # the loss's forward moves batch-norm statistics the attack uses
    loss = objective.loss(tiny_resnet, x, y, context)
    kwargs = {} if attack == "fgsm" else {"steps": objective.steps}
    x_adv = al.attacks.make(attack, before, eps=0.25, alpha=0.1, random_start=True,
                            seed=context.attack_seed, **kwargs)(x, y)
    assert 0 < (x_adv - x).abs().max() <= 0.25 + 1e-6
    assert torch.allclose(loss, F.cross_entropy(before(x_adv), y), atol=1e-6)
    assert loss > F.cross_entropy(before(x), y) + 1e-3


def test_trades_is_ce_plus_beta_times_kl_at_its_own_attack(tiny_resnet, batch):
    _needs_trades("trades")
    x, y = batch
    context = Context(step=7, steps_per_epoch=4, seed=2)
    model = copy.deepcopy(tiny_resnet)  # every forward in train mode moves batch-norm statistics: start afresh
    ce = F.cross_entropy(model(x), y)
    assert torch.allclose(al.train.make("trades", beta=0.0).loss(copy.deepcopy(tiny_resnet), x, y, context), ce,
                          atol=1e-6)
    trades = al.train.make("trades", eps=8 / 255, steps=3, alpha=2 / 255, beta=2.0)
    x_adv = al.attacks.PGD(tiny_resnet, eps=8 / 255, steps=3, alpha=2 / 255, loss="trades_kl",
                           seed=context.attack_seed)(x, y)
    assert (x_adv - x).abs().max() > 0
    kl = F.kl_div(F.log_softmax(model(x_adv), 1), F.softmax(model(x), 1), reduction="batchmean")
    assert kl > 0
    assert torch.allclose(trades.loss(tiny_resnet, x, y, context), ce + 2.0 * kl, atol=1e-5)


def test_protopnet_objective_is_the_models_loss_and_finalize_pushes(batch):
    torch.manual_seed(0)
    model = al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=4, image_size=16)
    x, y = batch
    objective = al.train.make("protopnet", label_smoothing=0.1, last_layer_epochs=1)
    assert torch.allclose(objective.loss(model, x, y, Context()), model.loss(x, y, label_smoothing=0.1))
    objective.finalize(model, x, y)
    assert (model.proto_source >= 0).all() and not model.training
