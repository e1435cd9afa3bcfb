"""Architectures of the model zoo.

Every model takes images in pixel space, [0, 1], N×C×H×W, and returns logits:
normalisation is the first layer *inside* the model, so attacks and maps never
have to know about dataset means and standard deviations.

CAM-ready models expose two attributes used by the CAM family:
``features`` (the last convolutional block, whose output is the feature map)
and ``fc`` (the linear layer after global average pooling).
"""
from __future__ import annotations

import torch
from torch import nn

from . import _validate

POOLS = ("max", "avg")


class Normalize(nn.Module):
    """Subtract the dataset mean and divide by its std, per channel."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def _pool(kind: str) -> nn.Module:
    _validate.choice(kind, "pool", POOLS)
    return nn.MaxPool2d(2) if kind == "max" else nn.AvgPool2d(2)


class MadryCNN(nn.Module):
    """The MNIST network of Madry et al. (2018): two 5×5 conv layers (32, 64
    channels), each followed by 2×2 pooling, then a 1024-unit hidden layer."""

    def __init__(self, pool: str = "max", in_channels: int = 1, num_classes: int = 10,
                 mean=(0.1307,), std=(0.3081,)):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, padding=2), nn.ReLU(), _pool(pool),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), _pool(pool),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class GapCNN(nn.Module):
    """A VGG-style CNN with a global-average-pooling head (CAM applies).

    ``widths`` lists conv widths; ``"P"`` inserts a 2×2 pooling layer of the
    chosen kind. The output of ``features`` is the map CAM weighs with ``fc``.
    Runs fastest on CPU in channels-last memory format (``preferred_memory_format``):
    measured here, PGD-10 on 256 CIFAR images 4.27 s → 3.02 s.
    """

    preferred_memory_format = torch.channels_last

    def __init__(self, widths=(32, 32, "P", 64, 64, "P", 128, 128), pool: str = "max",
                 in_channels: int = 3, num_classes: int = 10,
                 mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616)):
        super().__init__()
        self.normalize = Normalize(mean, std)
        layers, c = [], in_channels
        for w in widths:
            if w == "P":
                layers.append(_pool(pool))
            else:
                layers.append(_conv_bn(c, w))
                c = w
        self.features = nn.Sequential(*layers)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.features(self.normalize(x))), 1))


class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers with an identity (or 1×1-conv) shortcut (He et al., 2016)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet_trunk(depth: int = 8, width: int = 16, in_channels: int = 3):
    """Stem and stages of the CIFAR ResNet (depth 6n + 2, widths w, 2w, 4w); returns
    ``(stem, features, out_channels)``. Shared by every ResNet-based model, so the
    chapters compare heads on one backbone."""
    depth = _validate.number(depth, "depth", 8, 110, integer=True)
    if (depth - 2) % 6:
        raise ValueError(f"depth={depth} must be 6n + 2 (8, 14, 20, 32, ...)")
    width = _validate.number(width, "width", 1, 512, integer=True)
    n = (depth - 2) // 6
    stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                         nn.BatchNorm2d(width), nn.ReLU(inplace=True))
    blocks, c = [], width
    for stage, w in enumerate((width, 2 * width, 4 * width)):
        for i in range(n):
            blocks.append(BasicBlock(c, w, stride=2 if stage > 0 and i == 0 else 1))
            c = w
    return stem, nn.Sequential(*blocks), c


_CIFAR_MEAN, _CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class _TrunkNet(nn.Module):
    """Normalisation and the ResNet trunk, shared by the heads below (CAM-ready ``features``)."""

    preferred_memory_format = torch.channels_last

    def __init__(self, depth: int, width: int, in_channels: int, mean, std):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.stem, self.features, self.trunk_channels = resnet_trunk(depth, width, in_channels)

    def trunk(self, x):
        """The last feature maps, N×C×h×w."""
        return self.features(self.stem(self.normalize(x)))


class ResNet(_TrunkNet):
    """The CIFAR ResNet of He et al. (2016): depth 6n + 2, three stages of ``n``
    basic blocks with widths w, 2w, 4w, then global average pooling.

    ``depth=8, width=16`` (78k parameters) is the shape-vs-texture chapter's
    model: ~28 s per CIFAR-10 epoch on 2 CPU threads. ``features`` is the last
    stage (CAM-ready, like :class:`GapCNN`).
    """

    def __init__(self, depth: int = 8, width: int = 16, in_channels: int = 3, num_classes: int = 10,
                 mean=_CIFAR_MEAN, std=_CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.trunk_channels, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.trunk(x)), 1))


class AttentionPoolNet(_TrunkNet):
    """Attentional pooling (Girdhar & Ramanan, 2017) on the ResNet trunk.

    With features X (one row per position p), a class-agnostic *bottom-up*
    attention ``b(p) = X_p·b`` and class-specific *top-down* attention
    ``t_k(p) = X_p·w_k``, the score of class k is the rank-1 bilinear pooling
    ``mean_p t_k(p)·b(p)``. Both maps are the model's own explanation:
    :meth:`attention_maps`.
    """

    def __init__(self, depth: int = 8, width: int = 16, in_channels: int = 3, num_classes: int = 10,
                 mean=_CIFAR_MEAN, std=_CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.bottom_up = nn.Conv2d(self.trunk_channels, 1, 1)
        self.top_down = nn.Conv2d(self.trunk_channels, num_classes, 1)

    def attention_maps(self, x):
        """``(b, t)``: bottom-up attention N×h×w and top-down attention N×K×h×w."""
        f = self.trunk(x)
        return self.bottom_up(f)[:, 0], self.top_down(f)

    def forward(self, x):
        b, t = self.attention_maps(x)
        return (t * b[:, None]).mean(dim=(2, 3))


class ProtoPNet(_TrunkNet):
    """ProtoPNet (Chen et al., 2019) on the ResNet trunk: "this looks like that".

    Features go through add-on 1×1 layers to latent patches z (N×D×h×w); each of
    ``prototypes_per_class × K`` prototypes p_j is a latent patch. The squared
    distance of p_j to every patch gives a similarity map
    ``log((d + 1)/(d + 1e-4))``; its maximum is the prototype's score, and a
    last linear layer turns scores into logits. Training adds the cluster loss
    (every image close to a prototype of its class) and the separation loss (far
    from the others' prototypes); :meth:`push` then projects every prototype onto
    its nearest training patch of its class, whose image is kept in
    ``proto_images`` (with the patch position ``proto_locations``), and
    :meth:`fit_last_layer` fine-tunes the last layer with an L1 penalty on
    connections to other classes.
    """

    def __init__(self, depth: int = 8, width: int = 16, prototypes_per_class: int = 5, proto_dim: int = 32,
                 in_channels: int = 3, num_classes: int = 10, image_size: int = 32,
                 mean=_CIFAR_MEAN, std=_CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        c = self.trunk_channels
        ppc = _validate.number(prototypes_per_class, "prototypes_per_class", 1, 100, integer=True)
        d = _validate.number(proto_dim, "proto_dim", 1, 4096, integer=True)
        m = ppc * num_classes
        self.add_on = nn.Sequential(nn.Conv2d(c, d, 1), nn.ReLU(), nn.Conv2d(d, d, 1), nn.Sigmoid())
        self.prototypes = nn.Parameter(torch.rand(m, d, 1, 1, generator=torch.Generator().manual_seed(0)))
        self.register_buffer("prototype_class", torch.arange(num_classes).repeat_interleave(ppc))
        self.last = nn.Linear(m, num_classes, bias=False)
        own = nn.functional.one_hot(self.prototype_class, num_classes).float().t()
        with torch.no_grad():
            self.last.weight.copy_(own - 0.5 * (1 - own))
        self.register_buffer("proto_images", torch.zeros(m, in_channels, image_size, image_size, dtype=torch.uint8))
        self.register_buffer("proto_locations", torch.full((m, 2), -1, dtype=torch.long))
        self.register_buffer("proto_source", torch.full((m,), -1, dtype=torch.long))

    def latent(self, x):
        """Latent patches z (N×D×h×w) that prototypes are compared with."""
        return self.add_on(self.trunk(x))

    def distances(self, x=None, z=None):
        """Squared L2 distance of every prototype to every latent patch, N×m×h×w
        (of images ``x``, or of latent patches ``z`` already computed)."""
        z = self.latent(x) if z is None else z
        p = self.prototypes
        z2 = z.pow(2).sum(1, keepdim=True)
        zp = nn.functional.conv2d(z, p)
        return (z2 - 2 * zp + p.pow(2).sum(dim=(1, 2, 3)).view(1, -1, 1, 1)).clamp_min(0)

    @staticmethod
    def similarity(d):
        return torch.log((d + 1) / (d + 1e-4))

    def similarity_maps(self, x):
        """Similarity of every prototype at every position, N×m×h×w."""
        return self.similarity(self.distances(x))

    def forward(self, x):
        d = self.distances(x).flatten(2).amin(2)
        return self.last(self.similarity(d))

    def loss(self, x, y, label_smoothing: float = 0.0, cluster: float = 0.8, separation: float = 0.08):
        """Cross-entropy + cluster − separation (Chen et al.'s coefficients)."""
        d = self.distances(x).flatten(2).amin(2)                    # N×m
        logits = self.last(self.similarity(d))
        own = self.prototype_class[None] == y[:, None]
        big = d.detach().max() + 1
        clst = torch.where(own, d, big).amin(1).mean()
        sep = torch.where(own, big, d).amin(1).mean()
        ce = nn.functional.cross_entropy(logits, y, label_smoothing=label_smoothing)
        return ce + cluster * clst - separation * sep

    @torch.no_grad()
    def push(self, x, y, batch_size: int = 500):
        """Project each prototype onto its nearest latent patch among images of its class."""
        m = len(self.prototype_class)
        best = torch.full((m,), float("inf"))
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            z = self.latent(xb)
            d = self.distances(z=z)                                  # B×m×h×w
            mask = self.prototype_class[None] == yb[:, None]        # B×m: image of the prototype's class
            d = torch.where(mask[:, :, None, None], d, torch.full_like(d, float("inf")))
            flat = d.permute(1, 0, 2, 3).reshape(m, -1)              # m × (B·h·w)
            val, idx = flat.min(1)
            h, w = d.shape[-2:]
            for j in torch.nonzero(val < best).flatten().tolist():
                b, r = divmod(int(idx[j]), h * w)
                best[j] = val[j]
                self.prototypes[j, :, 0, 0] = z[b, :, r // w, r % w]
                self.proto_images[j] = (xb[b] * 255).round().to(torch.uint8)
                self.proto_locations[j] = torch.tensor([r // w, r % w])
                self.proto_source[j] = i + b
        return best

    def fit_last_layer(self, x, y, epochs: int = 20, lr: float = 1e-2, l1: float = 1e-4,
                       batch_size: int = 500, seed: int = 0):
        """Convex last-layer fine-tuning on the (fixed) prototype scores."""
        with torch.no_grad():
            scores = torch.cat([self.similarity(self.distances(x[i:i + batch_size]).flatten(2).amin(2))
                                for i in range(0, len(x), batch_size)])
        own = nn.functional.one_hot(self.prototype_class, self.last.out_features).float().t()
        opt = torch.optim.Adam(self.last.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), batch_size):
                idx = perm[i:i + batch_size]
                loss = nn.functional.cross_entropy(self.last(scores[idx]), y[idx]) + \
                    l1 * (self.last.weight * (1 - own)).abs().sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    def finalize(self, x, y, last_layer_epochs: int = 20):
        """After joint training: push, then fine-tune the last layer (train mode off)."""
        self.eval()
        self.push(x, y)
        self.fit_last_layer(x, y, epochs=last_layer_epochs)


ARCHITECTURES = {"madry_cnn": MadryCNN, "gap_cnn": GapCNN, "resnet": ResNet,
                 "attention_pool": AttentionPoolNet, "protopnet": ProtoPNet}


def build(arch: str, **kwargs) -> nn.Module:
    """Build an untrained architecture by name (see ``ARCHITECTURES``)."""
    _validate.choice(arch, "architecture", ARCHITECTURES)
    return ARCHITECTURES[arch](**kwargs)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` in which every ``BatchNorm2d`` applied directly to a
    ``Conv2d``'s output is folded into that convolution, ``w' = w·γ/σ``, ``b' = (b − μ)·γ/σ + β``
    (with the running mean μ and standard deviation σ), and replaced by ``nn.Identity``.

    In eval mode batch norm is a fixed per-channel affine map, so the copy computes the same
    function (to float rounding, ~1e-6) with one operation less per block, forward and
    backward. Module names and attributes are kept (``features``, ``attention_maps``,
    ``similarity_maps`` … still work). The pairs are found by tracing ``forward`` with
    ``torch.fx``; a pair is folded only when the convolution's output feeds nothing else and
    each module is called once. A model that cannot be traced is copied unchanged. The copy
    is a snapshot: train the original and fold again.
    """
    import copy

    import torch.fx

    folded = copy.deepcopy(_validate.model(model)).eval()
    try:
        graph = torch.fx.symbolic_trace(folded).graph
    except Exception:  # untraceable Python control flow (any error type): keep the model as it is
        return folded
    calls: dict = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    for node in graph.nodes:
        src = node.args[0] if node.op == "call_module" and node.args else None
        if not (isinstance(src, torch.fx.Node) and src.op == "call_module" and len(src.users) == 1
                and calls[node.target] == 1 and calls[src.target] == 1):
            continue
        conv, bn = folded.get_submodule(src.target), folded.get_submodule(node.target)
        if not (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and bn.running_var is not None):
            continue
        with torch.no_grad():
            scale = torch.rsqrt(bn.running_var + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight
            bias = -bn.running_mean * scale if conv.bias is None else (conv.bias - bn.running_mean) * scale
            if bn.bias is not None:
                bias = bias + bn.bias
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bias, requires_grad=conv.weight.requires_grad)
        parent, _, name = node.target.rpartition(".")
        setattr(folded.get_submodule(parent), name, nn.Identity())
    return folded
