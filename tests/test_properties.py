"""Property-based tests (hypothesis) over the registries and public entry points (issue #12).

For every valid input the outputs keep their invariants (adversarial images inside the ε-ball
and [0, 1], maps finite N×H×W, the model and the input left as they were, the same result for
the same seed); for every invalid input the error is a ``ValueError`` that names the argument.
Examples are derandomized so CI draws the same cases each run; sizes are tiny (8–16 px, a few
steps) so the file runs in about a minute.
"""
from __future__ import annotations

import copy
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import advlab as al
from advlab.attacks import REGISTRY as ATTACKS
from advlab.interpret import REGISTRY as INTERPRETERS
from advlab.interpret.layers import LAYER_REGISTRY

FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FAST, max_examples=50)
MANY = settings(FAST, max_examples=300)
SLOW = settings(FAST, max_examples=150)


def _tiny_models():
    torch.manual_seed(0)
    gap = al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()
    torch.manual_seed(0)
    attention = al.models.AttentionPoolNet(width=4, num_classes=5).eval()
    torch.manual_seed(0)
    proto = al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=5, image_size=16).eval()
    return gap, attention, proto


GAP, ATTENTION, PROTO = _tiny_models()
GAP64 = copy.deepcopy(GAP).double()
N_CLASSES = 5


def model_for(name: str, dtype=torch.float32):
    need = getattr(INTERPRETERS.get(name), "requires", None)
    if need == "attention_maps":
        return ATTENTION
    if need == "similarity_maps":
        return PROTO
    return GAP64 if dtype == torch.float64 else GAP


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


class ModelState:
    """Snapshot of what an entry point must leave alone: modes, requires_grad, parameters and
    buffers, hooks. ``scramble`` sets a random mix of modes and flags first."""

    def __init__(self, model, data=None):
        self.model = model
        if data is not None:
            for m in model.modules():
                m.training = data.draw(st.booleans(), label="training")
            for p in model.parameters():
                p.requires_grad_(data.draw(st.booleans(), label="requires_grad"))
        self.modes = [m.training for m in model.modules()]
        self.flags = [p.requires_grad for p in model.parameters()]
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.hooks = hook_count(model)

    def check(self):
        m = self.model
        assert [x.training for x in m.modules()] == self.modes
        assert [p.requires_grad for p in m.parameters()] == self.flags
        assert all(torch.equal(v, self.state[k]) for k, v in m.state_dict().items())
        assert hook_count(m) == self.hooks
        assert all(p.grad is None for p in m.parameters())

    def reset(self):
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(True)
            p.grad = None


# -- strategies ----------------------------------------------------------------------------

def images(n=None, size=None, dtype=torch.float32, channels=3, square=None):
    """Batches of images in [0, 1] (``n`` images, 1–3; sides ``size``, 8–16 px; ``square`` fixes both
    sides): random pixels, constant images, or binary ones (pixels exactly 0 or 1)."""
    n = st.integers(1, 3) if n is None else n
    size = st.integers(8, 16) if size is None else size
    @st.composite
    def build(draw):
        k = draw(n)
        h = draw(size) if square is None else square
        w = draw(size) if square is None else square
        kind = draw(st.sampled_from(["rand", "rand", "rand", "zeros", "ones", "binary"]))
        g = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
        x = torch.rand(k, channels, h, w, generator=g, dtype=torch.float64)
        if kind == "zeros":
            x = torch.zeros_like(x)
        elif kind == "ones":
            x = torch.ones_like(x)
        elif kind == "binary":
            x = (x > 0.5).double()
        return x.to(dtype)
    return build()


def labels_for(n, form):
    """Valid labels for a batch of ``n`` in the forms the API accepts."""
    return st.lists(st.integers(0, N_CLASSES - 1), min_size=n, max_size=n).map(lambda ys: {
        "tensor": torch.tensor(ys), "numpy": np.array(ys), "int": ys[0], "numpy_int": np.int64(ys[0]),
        "tensor0d": torch.tensor(ys[0]), "int32": torch.tensor(ys, dtype=torch.int32)}[form])


LABEL_FORMS = ["tensor", "numpy", "int", "numpy_int", "tensor0d", "int32"]


def number_form(value, form):
    """``value`` as a Python, NumPy or 0-d torch scalar, or as a fraction string."""
    if form == "np":
        return np.float64(value) if isinstance(value, float) else np.int64(value)
    if form == "np32":
        with np.errstate(over="ignore"):  # a huge float becomes inf, which is refused like the float
            return np.float32(value) if isinstance(value, float) else np.int32(value)
    if form == "tensor":
        return torch.tensor(value)
    if form == "str" and isinstance(value, float):
        return str(Fraction(value).limit_denominator(10**6))
    return value


def as_float(v):
    return float(Fraction(v)) if isinstance(v, str) else float(v)


NUMBER_FORMS = ["py", "np", "np32", "tensor"]


def bad_images(x):
    """Invalid versions of a valid batch ``x``: each is refused with a message naming ``x``."""
    nan = x.clone()
    nan.view(-1)[0] = float("nan")
    inf = x.clone()
    inf.view(-1)[-1] = float("inf")
    ninf = x.clone()
    ninf.view(-1)[0] = -float("inf")
    over = x.clone()
    over.view(-1)[0] = 1 + 1e-6
    under = x.clone()
    under.view(-1)[-1] = -1e-6
    return {
        "float16": x.half(), "bfloat16": x.bfloat16(), "int64": (x * 255).long(), "uint8": (x * 255).byte(),
        "bool": x > 0.5, "meta": x.to("meta"), "nan": nan, "inf": inf, "-inf": ninf, "over": over,
        "under": under, "3d": x[0], "5d": x[None], "2d": x[0, 0], "one_channel": x[:, :1],
        "four_channels": torch.cat([x, x[:, :1]], 1), "empty": x[:0], "list": x.tolist(), "numpy": x.numpy(),
        "none": None, "float64_for_float32_model": x.double(), "complex": x.to(torch.complex64),
    }


def bad_labels(n):
    return {
        "out_of_range": torch.full((n,), N_CLASSES), "negative": torch.full((n,), -1), "huge": 10**12,
        "bool": True, "bool_tensor0d": torch.tensor(True), "bool_numpy": np.array([True] * n),
        "numpy_bool": np.bool_(False), "bool_tensor": torch.ones(n, dtype=torch.bool),
        "float": 1.0, "float_tensor": torch.zeros(n), "numpy_float": np.float64(1.0),
        "too_many": torch.zeros(n + 1, dtype=torch.long), "two_d": torch.zeros(n, 1, dtype=torch.long),
        "string": "1", "none": None, "list_of_str": ["cat"] * n,
    }


def raises_naming(name, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` raises a ValueError whose message names ``name`` (no other type)."""
    try:
        fn(*args, **kwargs)
    except ValueError as e:
        assert name in str(e), f"message does not name {name!r}: {e}"
        return str(e)
    except Exception as e:  # pragma: no cover - the failure this suite exists to catch
        raise AssertionError(f"{type(e).__name__} instead of ValueError naming {name!r}: {e}") from e
    raise AssertionError(f"no error for invalid {name}")


# -- attacks ---------------------------------------------------------------------------------

@st.composite
def attack_setups(draw):
    name = draw(st.sampled_from(sorted(ATTACKS)))
    norm = draw(st.sampled_from(["linf", "l2"]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    x = draw(images(dtype=dtype))
    eps_max = 1.0 if norm == "linf" else math.sqrt(x[0].numel())
    eps = draw(st.one_of(st.sampled_from([0.0, 1 / 255, 8 / 255, 0.3, 1.0]), st.floats(0, 1.0),
                         st.floats(0, eps_max)))
    eps = draw(st.sampled_from(NUMBER_FORMS + ["str"]).map(lambda f: number_form(eps, f)))
    kwargs: dict = {"norm": norm}
    if ATTACKS[name].iterative:
        kwargs["steps"] = draw(st.integers(1, 3).map(lambda s: number_form(s, draw(st.sampled_from(NUMBER_FORMS)))))
    max_step = 1.0 if norm == "linf" else 1e4
    alpha = draw(st.one_of(st.none(), st.floats(0, min(max_step, 2.0))))
    if alpha is not None:
        kwargs["alpha"] = number_form(alpha, draw(st.sampled_from(NUMBER_FORMS + ["str"])))
    kwargs["restarts"] = draw(st.integers(1, 2))
    kwargs["random_start"] = draw(st.sampled_from([True, False, np.bool_(True)]))
    targeted = draw(st.booleans())
    kwargs["targeted"] = targeted
    losses = [None, "ce", "margin"] + (["targeted_ce", "targeted_margin"] if targeted else ["trades_kl"])
    kwargs["loss"] = draw(st.sampled_from(losses))
    kwargs["seed"] = draw(st.integers(0, 2**63 - 1))
    kwargs["batch_size"] = draw(st.one_of(st.none(), st.integers(1, 3)))
    if name == "mim":
        kwargs["momentum"] = draw(st.floats(0, 2))
    y = draw(labels_for(len(x), draw(st.sampled_from(LABEL_FORMS))))
    return name, x, y, eps, kwargs


@SLOW
@given(setup=attack_setups(), data=st.data())
def test_attack_output_stays_in_the_ball_and_leaves_everything_alone(setup, data):
    name, x, y, eps, kwargs = setup
    model = GAP64 if x.dtype == torch.float64 else GAP
    state = ModelState(model, data)
    x0 = x.clone()
    try:
        atk = al.attacks.make(name, model, eps=eps, **kwargs)
        x_adv = atk(x, y)
        state.check()
        assert torch.equal(x, x0)
        assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and x_adv.device == x.device
        assert not x_adv.requires_grad
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        e = as_float(eps)
        d = (x_adv - x).flatten(1)
        tol = 1e-6 if x.dtype == torch.float32 else 1e-12
        if kwargs["norm"] == "linf":
            assert d.abs().max() <= e + tol
        else:
            assert (d.double().norm(dim=1) <= e * (1 + tol) + tol).all()
        assert torch.equal(atk(x, y), x_adv)  # same seed, same examples
    finally:
        state.reset()


BAD_ATTACK_ARGS = [
    ("eps", -0.1), ("eps", float("nan")), ("eps", float("inf")), ("eps", True), ("eps", "abc"), ("eps", "1/0"),
    ("eps", [0.1]), ("eps", None), ("eps", np.float64(-1.0)), ("eps", torch.tensor(-0.5)),
    ("eps", torch.tensor([0.1, 0.2])), ("eps", 1e9), ("eps", "-8/255"), ("eps", np.bool_(True)),
    ("steps", 0), ("steps", -3), ("steps", 2.5), ("steps", "3"), ("steps", True), ("steps", 10**9),
    ("steps", np.float32(1.5)), ("steps", torch.tensor(0)),
    ("alpha", -0.1), ("alpha", "x"), ("alpha", True), ("alpha", float("nan")), ("alpha", 1e6), ("alpha", [0.1]),
    ("restarts", 0), ("restarts", 1.5), ("restarts", True), ("restarts", "2"), ("restarts", 10**6),
    ("seed", "1"), ("seed", -1), ("seed", 1.5), ("seed", True), ("seed", 2**64), ("seed", None),
    ("seed", np.float64(2.0)),
    ("batch_size", 0), ("batch_size", -1), ("batch_size", "4"), ("batch_size", True), ("batch_size", 1.5),
    ("norm", "l3"), ("norm", 2), ("norm", None), ("norm", "LINF"),
    ("loss", "foo"), ("loss", 3), ("loss", "targeted_ce"),
    ("random_start", "no"), ("random_start", 2), ("random_start", None), ("random_start", 1),
    ("targeted", "yes"), ("targeted", 1), ("targeted", None), ("targeted", torch.tensor([True, False])),
]


@MANY
@given(name=st.sampled_from(sorted(ATTACKS)), bad=st.sampled_from(BAD_ATTACK_ARGS),
       norm=st.sampled_from(["linf", "l2"]))
@example(name="fgsm", bad=("eps", -0.1), norm="linf")
def test_attack_constructor_names_the_bad_argument(name, bad, norm):
    arg, value = bad
    kwargs = {"norm": norm, arg: value}  # FGSM refuses every steps, naming it
    raises_naming(arg, al.attacks.make, name, GAP, **kwargs)


@FAST
@given(name=st.sampled_from(sorted(ATTACKS)), x=images(), bad=st.data())
def test_attack_call_names_the_bad_input(name, x, bad):
    atk = al.attacks.make(name, GAP, eps="8/255")
    state = ModelState(GAP)
    which = bad.draw(st.sampled_from(["x", "y"]))
    if which == "x":
        key = bad.draw(st.sampled_from(sorted(bad_images(x))))
        raises_naming("x", atk, bad_images(x)[key], 0)
    else:
        key = bad.draw(st.sampled_from(sorted(bad_labels(len(x)))))
        raises_naming("y", atk, x, bad_labels(len(x))[key])
    state.check()


@FEW
@given(x=images(), eps=st.floats(0, 10))
def test_l2_eps_beyond_the_cube_diameter_is_named(x, eps):
    d = x[0].numel()
    atk = al.attacks.PGD(GAP, eps=math.sqrt(d) + 1 + eps, norm="l2", steps=1)
    raises_naming("eps", atk, x, 0)


# -- interpreters -----------------------------------------------------------------------------

CHEAP = {"smoothgrad": {"n_samples": 2}, "integrated_gradients": {"n_steps": 3}, "scorecam": {"batch_size": 4},
         "mask": {"steps": 3}}


@FAST
@given(name=st.sampled_from(sorted(INTERPRETERS)), data=st.data())
def test_interpreter_maps_are_finite_and_leave_everything_alone(name, data):
    proto = INTERPRETERS[name].__dict__.get("requires") == "similarity_maps"
    dtype = torch.float32 if name in ("attention", "prototype") else data.draw(
        st.sampled_from([torch.float32, torch.float64]))
    model = model_for(name, dtype)
    x = data.draw(images(dtype=dtype, square=16 if proto else None))
    target = data.draw(labels_for(len(x), data.draw(st.sampled_from(LABEL_FORMS))))
    kwargs = dict(CHEAP.get(name, {}))
    if name in ("random", "smoothgrad", "mask"):
        kwargs["seed"] = data.draw(st.integers(0, 2**63 - 1).map(lambda s: number_form(s, data.draw(
            st.sampled_from(["py", "np"])))))
    batch_size = data.draw(st.one_of(st.none(), st.integers(1, 3)))
    state = ModelState(model, data)
    x0 = x.clone()
    try:
        attr = al.interpret.make(name, model, **kwargs)
        maps = attr(x, target, batch_size=batch_size)
        state.check()
        assert torch.equal(x, x0)
        assert maps.shape == (x.shape[0], *x.shape[-2:])
        assert torch.isfinite(maps).all() and not maps.requires_grad
        assert torch.equal(attr(x, target, batch_size=batch_size), maps)
    finally:
        state.reset()


BAD_INTERPRETER_ARGS = {
    "saliency": [("reduce", "foo"), ("reduce", 3), ("reduce", None)],
    "smoothgrad": [("n_samples", 0), ("n_samples", "a"), ("n_samples", True), ("sigma", -1.0),
                   ("sigma", float("nan")), ("seed", "1"), ("seed", -1), ("seed", True), ("reduce", "foo")],
    "integrated_gradients": [("n_steps", 0), ("n_steps", 2.5), ("baseline", 2.0), ("baseline", "x"),
                             ("reduce", "mean"), ("internal_batch_size", "abc"), ("internal_batch_size", 0),
                             ("internal_batch_size", True), ("internal_batch_size", 1.5)],
    "cam": [("layer", "nope"), ("layer", 3), ("relu", "yes"), ("relu", 1), ("upsample", None), ("fc", "nope")],
    "gradcam": [("layer", "nope"), ("relu", "yes"), ("upsample", 0)],
    "gradcam++": [("layer", "nope"), ("relu", np.int64(1)), ("upsample", "no")],
    "scorecam": [("layer", "nope"), ("batch_size", 0), ("batch_size", "4"), ("relu", None)],
    "random": [("seed", "1"), ("seed", -1), ("seed", 0.5), ("seed", True)],
    "attention": [("kind", "foo"), ("kind", 1)],
    "prototype": [("rank", -1), ("rank", "0"), ("rank", True), ("rank", 1.5)],
    "mask": [("steps", 0), ("steps", 2.5), ("steps", True), ("lr", 0), ("l1", -1.0), ("tv", float("nan")),
             ("tv_beta", "3"), ("sigma", 0.0), ("size", 0), ("lookahead", 0), ("xi", -1.0), ("seed", "1")],
}
assert set(BAD_INTERPRETER_ARGS) == set(INTERPRETERS), "every interpreter has bad arguments listed"


@MANY
@given(pair=st.sampled_from([(n, b) for n, bads in BAD_INTERPRETER_ARGS.items() for b in bads]))
@example(pair=("saliency", ("reduce", "foo")))            # was accepted, refused after the gradients
@example(pair=("integrated_gradients", ("internal_batch_size", "abc")))  # was a TypeError inside captum
@example(pair=("random", ("seed", "1")))                  # was a RuntimeError from manual_seed
def test_interpreter_constructor_names_the_bad_argument(pair):
    name, (arg, value) = pair
    raises_naming(arg, al.interpret.make, name, model_for(name), **{arg: value})


@FAST
@given(name=st.sampled_from(sorted(INTERPRETERS)), data=st.data())
def test_interpreter_call_names_the_bad_input(name, data):
    proto = name == "prototype"
    model = model_for(name)
    x = data.draw(images(square=16 if proto else None))
    attr = al.interpret.make(name, model, **CHEAP.get(name, {}))
    state = ModelState(model)
    which = data.draw(st.sampled_from(["x", "target", "batch_size", "differentiable"]))
    if which == "x":
        key = data.draw(st.sampled_from(sorted(bad_images(x))))
        raises_naming("x", attr, bad_images(x)[key], 0)
    elif which == "target":
        key = data.draw(st.sampled_from(sorted(bad_labels(len(x)))))
        raises_naming("target", attr, x, bad_labels(len(x))[key])
    elif which == "batch_size":
        raises_naming("batch_size", attr, x, 0, batch_size=data.draw(st.sampled_from([0, -2, "3", True, 1.5])))
    else:
        raises_naming("differentiable", attr, x, 0, differentiable=data.draw(st.sampled_from(["yes", 1, None])))
    state.check()


# -- layer attributions -----------------------------------------------------------------------

@FEW
@given(name=st.sampled_from(sorted(LAYER_REGISTRY)), data=st.data())
def test_layer_attributions_are_finite_per_channel(name, data):
    x = data.draw(images(n=st.integers(1, 2)))
    state = ModelState(GAP, data)
    x0 = x.clone()
    try:
        if name == "neuron_conductance":
            attr = al.interpret.make_layer(name, GAP, layer="features.2", n_steps=2)
            out = attr(x, data.draw(st.integers(0, 15)))
            k = 8
        else:
            layer = data.draw(st.sampled_from(["features.0", "features.2", ["features.0", "features.2"]]))
            attr = al.interpret.make_layer(name, GAP, layer=layer, n_steps=2)
            out = attr(x, data.draw(labels_for(len(x), "tensor")))
            if isinstance(layer, list):
                assert list(out) == layer
                assert [o.shape for o in out.values()] == [(len(x), 8), (len(x), 16)]
                out = torch.cat(list(out.values()), 1)
            k = out.shape[1]
        state.check()
        assert torch.equal(x, x0)
        assert out.shape == (len(x), k) and torch.isfinite(out).all() and not out.requires_grad
    finally:
        state.reset()


@FAST
@given(name=st.sampled_from(sorted(LAYER_REGISTRY)), data=st.data())
@example(name="layer_activation", data=None)  # a float64 batch was a RuntimeError inside the model
def test_layer_attributions_name_the_bad_argument(name, data):
    if data is None:
        raises_naming("x", al.interpret.make_layer(name, GAP, layer="features.0"), torch.rand(2, 3, 8, 8).double(), 0)
        return
    layer = "features.2" if name == "neuron_conductance" else "features.0"
    x = data.draw(images(n=st.integers(1, 2)))
    which = data.draw(st.sampled_from(["n_steps", "baseline", "layer", "x"] +
                                      (["channel"] if name == "neuron_conductance" else ["target"])))
    if which == "n_steps":
        raises_naming("n_steps", al.interpret.make_layer, name, GAP, layer, n_steps=data.draw(
            st.sampled_from([0, -1, "5", True, 2.5])))
    elif which == "baseline":
        raises_naming("baseline", al.interpret.make_layer, name, GAP, layer, baseline=data.draw(
            st.sampled_from([float("nan"), "0", True, 1e9])))
    elif which == "layer":
        raises_naming("layer", al.interpret.make_layer, name, GAP, data.draw(st.sampled_from(["nope", 3, "features.9"])))
    else:
        attr = al.interpret.make_layer(name, GAP, layer, n_steps=2)
        if which == "x":
            key = data.draw(st.sampled_from(sorted(bad_images(x))))
            raises_naming("x", attr, bad_images(x)[key], 0)
        elif which == "channel":
            raises_naming("channel", attr, x, data.draw(st.sampled_from([-1, 16, "1", True, 0.5])))
        elif name != "layer_activation":  # layer_activation ignores its target
            key = data.draw(st.sampled_from(sorted(set(bad_labels(len(x))) - {"none"})))
            raises_naming("target", attr, x, bad_labels(len(x))[key])


@FEW
@given(x=images(), data=st.data())
def test_predict_and_map_and_top_prototypes(x, data):
    name = data.draw(st.sampled_from(["saliency", "gradcam", "cam", "random"]))
    probs, maps = al.interpret.predict_and_map(al.interpret.make(name, GAP), x)
    assert probs.shape == (len(x), N_CLASSES) and torch.allclose(probs.sum(1), torch.ones(len(x)))
    assert maps.shape == (len(x), *x.shape[-2:]) and maps.min() >= 0 and maps.max() <= 1
    raises_naming("x", al.interpret.predict_and_map, al.interpret.make(name, GAP), x.double())
    raises_naming("x", al.interpret.predict_and_map, al.interpret.make(name, GAP), x[:, :1])
    raises_naming("normalize", al.interpret.predict_and_map, al.interpret.make(name, GAP), x, normalize="yes")
    xp = data.draw(images(square=16))
    k = data.draw(st.integers(1, 2))
    idx, scores = al.interpret.top_prototypes(PROTO, xp, k)
    assert idx.shape == scores.shape == (len(xp), k)
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    raises_naming("x", al.interpret.top_prototypes, PROTO, torch.rand(1, 3, 8, 8))
    raises_naming("k", al.interpret.top_prototypes, PROTO, xp, data.draw(st.sampled_from([0, "1", True, 999])))


# -- transforms -------------------------------------------------------------------------------

@FAST
@given(data=st.data())
def test_transforms_keep_shape_range_and_are_seeded(data):
    name = data.draw(st.sampled_from(sorted(al.transforms.TRANSFORMS)))
    fn, _param, levels = al.transforms.TRANSFORMS[name]
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]))
    x = data.draw(images(dtype=dtype, size=st.sampled_from([8, 12, 16])))
    h = x.shape[-2]
    w = x.shape[-1]
    if name == "saturate":
        level = data.draw(st.one_of(st.floats(2, 1e6), st.sampled_from(levels)))
    elif name == "patch_shuffle":
        level = data.draw(st.sampled_from([d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]))
    else:
        level = 0.0  # strength 0 is the identity; other strengths optimise with a zoo model
    level = number_form(level, data.draw(st.sampled_from(NUMBER_FORMS)))
    seed = data.draw(st.integers(0, 2**63 - 1))
    x0 = x.clone()
    out = al.transforms.apply(name, x, level, seed=seed)
    assert torch.equal(x, x0)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert torch.equal(al.transforms.apply(name, x, level, seed=seed), out)
    if float(level) == float(levels[0]):
        assert torch.allclose(out, x, atol=1e-6)
    if name == "patch_shuffle":  # a permutation of patches keeps every pixel value
        assert torch.equal(out.flatten(1).sort(1).values, x.flatten(1).sort(1).values)


BAD_TRANSFORM_ARGS = [
    ("saturate", "p", 1.0), ("saturate", "p", float("nan")), ("saturate", "p", "4"), ("saturate", "p", True),
    ("saturate", "p", -2), ("patch_shuffle", "k", 0), ("patch_shuffle", "k", 3), ("patch_shuffle", "k", "2"),
    ("patch_shuffle", "k", True), ("patch_shuffle", "k", 2.5), ("patch_shuffle", "k", 17),
    ("patch_shuffle", "seed", "1"), ("patch_shuffle", "seed", -1), ("patch_shuffle", "seed", True),
    ("stylize", "strength", -0.1), ("stylize", "strength", 2.0), ("stylize", "strength", "a"),
    ("stylize", "seed", "1"), ("stylize", "seed", 1.5), ("stylize", "style", "velvet"),
]


@MANY
@given(bad=st.sampled_from(BAD_TRANSFORM_ARGS), x=images(size=st.just(16)))
@example(bad=("patch_shuffle", "seed", "1"), x=torch.rand(1, 3, 16, 16))  # was a RuntimeError
def test_transforms_name_the_bad_argument(bad, x):
    name, arg, value = bad
    fn, param, levels = al.transforms.TRANSFORMS[name]
    kwargs = {param: levels[-1 if name != "stylize" else 0]}
    kwargs[arg] = value
    raises_naming(arg, fn, x, **kwargs)


@FAST
@given(name=st.sampled_from(sorted(al.transforms.TRANSFORMS)), x=images(size=st.just(16)), data=st.data())
def test_transforms_name_the_bad_input(name, x, data):
    no_model = {"float64_for_float32_model", "one_channel", "four_channels"}  # any channels but stylize's 3
    key = data.draw(st.sampled_from(sorted(set(bad_images(x)) - (no_model if name != "stylize" else set()))))
    _fn, _param, levels = al.transforms.TRANSFORMS[name]
    raises_naming("x", al.transforms.apply, name, bad_images(x)[key], levels[0])
    raises_naming("transform", al.transforms.apply, name + "_nope", x, levels[0])


# -- map metrics and map utilities --------------------------------------------------------------

def maps(min_size=4, max_size=12, nonneg=True):
    @st.composite
    def build(draw):
        n = draw(st.integers(1, 3))
        h, w = draw(st.integers(min_size, max_size)), draw(st.integers(min_size, max_size))
        dtype = draw(st.sampled_from([torch.float32, torch.float64]))
        g = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
        kind = draw(st.sampled_from(["rand", "rand", "const", "spike"]))
        m = torch.rand(n, h, w, generator=g, dtype=dtype) * draw(st.sampled_from([1e-6, 1.0, 1e6]))
        if kind == "const":
            m = torch.full_like(m, draw(st.sampled_from([0.0, 0.5, 3.0])))
        elif kind == "spike":
            m = torch.zeros_like(m)
            m[:, h // 2, w // 2] = 1.0
        if not nonneg:
            m = m - m.mean()
        return m
    return build()


@FAST
@given(a=maps(), data=st.data())
def test_map_metrics_stay_in_their_ranges(a, data):
    b = torch.rand(a.shape, generator=torch.Generator().manual_seed(data.draw(st.integers(0, 2**31))),
                   dtype=a.dtype) * data.draw(st.sampled_from([1.0, 1e3]))
    a0, b0 = a.clone(), b.clone()
    n = len(a)
    l1 = al.metrics.l1_distance(a, b)
    assert l1.shape == (n,) and (l1 >= 0).all() and (l1 <= 1).all()
    k = data.draw(st.integers(1, a[0].numel()).map(lambda v: number_form(v, data.draw(st.sampled_from(NUMBER_FORMS)))))
    iou = al.metrics.topk_iou(a, b, k)
    assert iou.shape == (n,) and (iou >= 0).all() and (iou <= 1).all()
    assert torch.equal(al.metrics.topk_iou(a, a, k), torch.ones(n))
    tau = al.metrics.kendall_tau(a, b)
    assert tau.shape == (n,) and ((tau.isnan()) | ((tau >= -1 - 1e-6) & (tau <= 1 + 1e-6))).all()
    tv = al.metrics.total_variation(a)
    assert tv.shape == (n,) and (tv >= 0).all() and (tv <= 1 + 1e-6).all()
    h, w = a.shape[-2:]
    width = data.draw(st.integers(1, min(h, w) // 2 - 1))
    bm = al.metrics.border_mass(a, width)
    assert bm.shape == (n,) and (bm >= 0).all() and (bm <= 1 + 1e-6).all()
    x = data.draw(images(n=st.just(n), size=st.just(h))) if h == w else None
    if x is not None:
        ea = al.metrics.edge_alignment(a, x)
        assert ea.shape == (n,) and (ea.abs() <= 1 + 1e-5).all()
    assert torch.equal(a, a0) and torch.equal(b, b0)


BAD_MAPS = {"nan": lambda m: m.masked_fill(torch.ones_like(m, dtype=torch.bool).tril(), float("nan")),
            "inf": lambda m: m + float("inf"), "1d": lambda m: m.flatten(), "4d": lambda m: m[None],
            "list": lambda m: m.tolist(), "none": lambda m: None, "numpy": lambda m: m.numpy()}


@MANY
@given(a=maps(), data=st.data())
@example(a=torch.rand(2, 2, 2), data=None)  # was "width must be in [1, 0]"
def test_map_metrics_name_the_bad_argument(a, data):
    if data is None:
        msg = raises_naming("maps", al.metrics.border_mass, a)
        assert "2×2" in msg and "4×4" in msg
        return
    which = data.draw(st.sampled_from(["maps", "k", "width", "shape", "negative", "small", "normalize"]))
    fns = {"l1_distance": lambda m: al.metrics.l1_distance(m, a), "topk_iou": lambda m: al.metrics.topk_iou(m, a, 1),
           "kendall_tau": lambda m: al.metrics.kendall_tau(m, a), "total_variation": al.metrics.total_variation,
           "border_mass": al.metrics.border_mass, "normalize": al.core.normalize, "topk_mask": lambda m:
           al.core.topk_mask(m, 1)}
    if which == "maps":
        fn = data.draw(st.sampled_from(sorted(fns)))
        bad = data.draw(st.sampled_from(sorted(BAD_MAPS)))
        if fn == "normalize" and bad in ("nan", "inf"):
            return  # normalize is the differentiable building block: it does not scan values
        name = {"l1_distance": "a", "topk_iou": "a", "kendall_tau": "a", "topk_mask": "a"}.get(fn, "maps")
        raises_naming(name, fns[fn], BAD_MAPS[bad](a))
    elif which == "k":
        k = data.draw(st.sampled_from([0, -1, a[0].numel() + 1, "3", True, 1.5, None]))
        raises_naming("k", al.metrics.topk_iou, a, a, k)
    elif which == "width":
        h, w = a.shape[-2:]
        width = data.draw(st.sampled_from([0, -1, min(h, w) // 2, "2", True, 1.5]))
        raises_naming("width", al.metrics.border_mass, a, width)
    elif which == "shape":
        raises_naming("shape", al.metrics.l1_distance, a, a[:, :-1])
    elif which == "negative":
        raises_naming("maps", al.metrics.border_mass, a - a.max() - 1)
    elif which == "normalize":
        raises_naming("normalize", al.metrics.l1_distance, a, a, normalize="no")
    else:
        raises_naming("maps", al.metrics.border_mass, a[:, :3, :3])


@FAST
@given(a=maps(nonneg=False), data=st.data())
def test_map_utilities(a, data):
    a0 = a.clone()
    n = al.core.normalize(a)
    assert n.shape == a.shape and (n >= 0).all() and (n <= 1).all()
    const = (a.flatten(1).max(1).values == a.flatten(1).min(1).values)
    assert (n[const] == 0).all() and (n[~const].flatten(1).amax(1) == 1).all()
    assert torch.equal(al.core.normalize(a[0]), n[0])
    k = data.draw(st.integers(1, a[0].numel()))
    mask = al.core.topk_mask(a, k)
    assert mask.dtype == torch.bool and (mask.flatten(1).sum(1) == k).all()
    kept = torch.where(mask, a, torch.full_like(a, float("inf"))).flatten(1).amin(1)
    dropped = torch.where(mask, torch.full_like(a, -float("inf")), a).flatten(1).amax(1)
    assert (kept >= dropped).all()
    size = (data.draw(st.integers(1, 20)), data.draw(st.integers(1, 20)))
    assert al.core.upsample(a, size).shape == (len(a), *size)
    attr = a[:, None].expand(-1, data.draw(st.integers(1, 3)), -1, -1)
    mx, sa, s = (al.core.reduce_channels(attr, h) for h in ("max_abs", "sum_abs", "sum"))
    assert mx.shape == sa.shape == s.shape == a.shape
    assert (sa >= mx).all() and (mx >= 0).all() and (s.abs() <= sa * (1 + 1e-6)).all()
    raises_naming("reduce", al.core.reduce_channels, attr, data.draw(st.sampled_from(["max", None, 1])))
    assert torch.equal(a, a0)


# -- metrics on models, landscape, scalars ------------------------------------------------------

@FAST
@given(x=images(), data=st.data())
@example(x=torch.rand(2, 3, 8, 8), data=None)  # labels outside the model's classes were once a 0.0 accuracy
def test_accuracy_counts_and_refuses_bad_labels(x, data):
    if data is None:
        raises_naming("y", al.metrics.accuracy, GAP, x, torch.tensor([7, 9]))
        return
    y = data.draw(labels_for(len(x), data.draw(st.sampled_from(LABEL_FORMS))))
    with torch.no_grad():
        pred = GAP(x).argmax(1)
    want = (pred == torch.as_tensor(y).expand(len(x))).float().mean().item()
    batch_size = data.draw(st.integers(1, 4))
    assert al.metrics.accuracy(GAP, x, y, batch_size=batch_size) == pytest.approx(want)
    assert torch.equal(al.metrics.predict(GAP, x, batch_size=batch_size), pred)
    key = data.draw(st.sampled_from(sorted(bad_labels(len(x)))))
    raises_naming("y", al.metrics.accuracy, GAP, x, bad_labels(len(x))[key])
    key = data.draw(st.sampled_from(sorted(bad_images(x))))
    raises_naming("x", al.metrics.accuracy, GAP, bad_images(x)[key], 0)
    raises_naming("batch_size", al.metrics.accuracy, GAP, x, 0, batch_size=data.draw(
        st.sampled_from([0, "8", True, 0.5])))
    raises_naming("targeted", al.metrics.attack_success_rate, GAP, x, x, 0, targeted="yes")


@FEW
@given(x=images(), data=st.data())
def test_landscape(x, data):
    y = data.draw(labels_for(len(x), "tensor"))
    g = al.landscape.gradient_sign(GAP, x, y)
    assert g.shape == x.shape and set(g.unique().tolist()) <= {-1.0, 0.0, 1.0}
    seed = data.draw(st.integers(0, 2**63 - 1))
    r = al.landscape.random_sign(x, seed)
    assert torch.equal(r.abs(), torch.ones_like(x)) and torch.equal(al.landscape.random_sign(x, seed), r)
    n = data.draw(st.sampled_from([3, 5]))
    grid, losses = al.landscape.loss_surface(GAP, x, y, g, r, data.draw(st.floats(0, 0.1)), n)
    assert grid.shape == (n,) and losses.shape == (n, n, len(x)) and torch.isfinite(losses).all()
    with torch.no_grad():
        centre = torch.nn.functional.cross_entropy(GAP(x), y, reduction="none")
    assert torch.allclose(losses[n // 2, n // 2], centre, atol=1e-5)
    raises_naming("seed", al.landscape.random_sign, x, data.draw(st.sampled_from(["1", -1, True, 0.5])))
    raises_naming("y", al.landscape.gradient_sign, GAP, x, bad_labels(len(x))[data.draw(
        st.sampled_from(sorted(bad_labels(len(x)))))])
    raises_naming("x", al.landscape.gradient_sign, GAP, x[:, :1], y)
    raises_naming("d1", al.landscape.loss_surface, GAP, x, y, g[:, :, :-1], r, 0.1, 3)
    raises_naming("radius", al.landscape.loss_surface, GAP, x, y, g, r, data.draw(
        st.sampled_from([-0.1, "0.1", True, float("nan")])), 3)
    raises_naming("n", al.landscape.loss_surface, GAP, x, y, g, r, 0.1, data.draw(st.sampled_from([1, "3", 2.5])))


@MANY
@given(value=st.one_of(st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True)),
       form=st.sampled_from(NUMBER_FORMS), lo=st.integers(-5, 0), hi=st.integers(0, 5))
def test_number_accepts_every_scalar_form_and_checks_the_range(value, form, lo, hi):
    v = number_form(value, form)
    as_py = float(v) if not isinstance(v, torch.Tensor) else v.item()
    if form == "np32" and isinstance(value, float):
        with np.errstate(over="ignore"):
            as_py = float(np.float32(value))
    if math.isfinite(as_py) and lo <= as_py <= hi:
        assert al.core.checks.number(v, "arg", lo, hi) == as_py
    else:
        raises_naming("arg", al.core.checks.number, v, "arg", lo, hi)


@MANY
@given(value=st.one_of(st.booleans(), st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2),
                       st.sampled_from([np.bool_(True), torch.tensor(True), torch.tensor([1.0, 2.0]),
                                        np.array([1, 2]), 1j])))
def test_non_numbers_are_refused_by_name(value):
    raises_naming("arg", al.core.checks.number, value, "arg", 0, 10)
    raises_naming("seed", al.core.checks.seed, value)
    if not (isinstance(value, str) and _is_fraction(value)):
        raises_naming("eps", al.core.checks.parse_eps, value)


def _is_fraction(s):
    """The documented text forms of ε: a number, or a number over a non-zero number ('8/255', '1.5/2')."""
    parts = s.replace(" ", "").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return False
    if len(values) == 1:
        return math.isfinite(values[0])
    return len(values) == 2 and values[1] != 0 and math.isfinite(values[0] / values[1])


@FAST
@given(value=st.one_of(st.integers(min_value=2**1024, max_value=10**600).map(lambda v: v * (-1) ** (v % 2)),
                       st.sampled_from(["1e400", "-1e400", "1e10000000", "9" * 400, "1/1e-400", "8/255/2",
                                        "inf", "nan", "1e400/1e400"])))
def test_huge_or_overflowing_values_are_refused_by_name(value):
    """Integers beyond a float and texts that overflow are a ValueError, never an OverflowError."""
    raises_naming("arg", al.core.checks.number, value, "arg", 0, 10)
    raises_naming("arg", al.core.checks.number, value, "arg", 0, 10, integer=True)
    raises_naming("eps", al.core.checks.parse_eps, value)
    if not isinstance(value, str):
        raises_naming("seed", al.core.checks.seed, value)


@FAST
@given(num=st.integers(0, 255), den=st.integers(1, 1000), spaces=st.booleans())
def test_parse_eps_reads_fractions(num, den, spaces):
    s = f"{num} / {den}" if spaces else f"{num}/{den}"
    assert al.core.checks.parse_eps(s) == pytest.approx(num / den, rel=1e-15)
    assert al.attacks.make("fgsm", GAP, eps=s if num <= den else "1").eps == pytest.approx(min(num / den, 1.0)
                                                                                           if num <= den else 1.0)
