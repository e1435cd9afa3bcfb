"""ProtoPNet (Chen et al., 2019) and its training procedure: losses, push, last-layer fine-tuning."""
from __future__ import annotations

import torch
from torch import nn

from ..core import checks
from .resnet import CIFAR_MEAN, CIFAR_STD, TrunkNet


class ProtoPNet(TrunkNet):
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

    # buffers (registered in __init__), declared for type checkers
    prototype_class: torch.Tensor
    proto_images: torch.Tensor
    proto_locations: torch.Tensor
    proto_source: torch.Tensor

    def __init__(self, depth: int = 8, width: int = 16, prototypes_per_class: int = 5, proto_dim: int = 32,
                 in_channels: int = 3, num_classes: int = 10, image_size: int = 32,
                 mean=CIFAR_MEAN, std=CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.input_shape = (in_channels, image_size, image_size)  # the prototypes' source images
        c = self.trunk_channels
        ppc = checks.number(prototypes_per_class, "prototypes_per_class", 1, 100, integer=True)
        d = checks.number(proto_dim, "proto_dim", 1, 4096, integer=True)
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
