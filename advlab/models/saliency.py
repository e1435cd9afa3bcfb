"""A real-time saliency model (Dabkowski & Gal, 2017), small: the "model-guided" interpreter RTS
that chapter 5 attacks with ADV² (Zhang et al., 2020)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core import checks
from .resnet import CIFAR_MEAN, CIFAR_STD, TrunkNet


class SaliencyNet(TrunkNet):
    """Mask model of Dabkowski & Gal (2017) on the CIFAR ResNet trunk (chapter 5).

    * encoder: ``normalize``, ``stem``, ``features``, the trunk of the classifier it explains (same
      depth and width; ``init_from`` copies the classifier's weights). Frozen: its parameters
      never require gradients and it stays in eval mode, so training moves only what follows;
    * class selector: an embedding of the class to explain scales and shifts the deepest features
      channel-wise (FiLM, ``(1 + γ_c)·A + β_c``), so the mask depends on the class asked for;
    * decoder: ×2 bilinear upsampling, concatenation with the encoder's features at that resolution
      (the last block of each stage, then the stem), 3×3 conv–BN–ReLU, down to 1/``mask_scale`` of
      the input's resolution (Dabkowski & Gal's masks are at 1/4); a 1×1 conv and a sigmoid give
      the mask, upsampled bilinearly to the input's size.

    ``forward(x, cls) -> N×H×W`` mask in [0, 1] (``cls``: class indices, an int or a tensor).
    """

    def __init__(self, depth: int = 8, width: int = 16, in_channels: int = 3, num_classes: int = 10,
                 mask_scale: int = 2, mean=CIFAR_MEAN, std=CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.num_classes = checks.number(num_classes, "num_classes", 2, 100_000, integer=True)
        checks.choice(mask_scale, "mask_scale", (1, 2, 4))
        self.mask_scale = int(mask_scale)
        for p in self.encoder_parameters():
            p.requires_grad_(False)
        self._skips = self._skip_indices()
        c = self.trunk_channels
        self.embedding = nn.Embedding(self.num_classes, 2 * c)
        nn.init.zeros_(self.embedding.weight)  # starts class-blind; training makes it select
        # (channels, stride) of the skips, deepest first after the deepest features; the stem's is 1
        skips = [(self.features[i].bn2.num_features, self._stride(i)) for i in self._skips[:-1]][::-1] + [(width, 1)]
        skip_channels = [ch for ch, stride in skips if stride >= self.mask_scale]
        self._n_decoder = len(skip_channels)
        self.decoder = nn.ModuleList()
        for s in skip_channels:
            out = max(s, width)
            self.decoder.append(nn.Sequential(nn.Conv2d(c + s, out, 3, padding=1, bias=False),
                                              nn.BatchNorm2d(out), nn.ReLU()))
            c = out
        self.head = nn.Conv2d(c, 1, 1)

    def _skip_indices(self) -> list[int]:
        """Index of the last block of each stage (the last one is the deepest features)."""
        strides = [blk.conv1.stride[0] for blk in self.features]
        return [i for i in range(len(strides)) if i + 1 == len(strides) or strides[i + 1] != 1]

    def _stride(self, i: int) -> int:
        """How much smaller than the input the output of block ``i`` is."""
        out = 1
        for blk in list(self.features)[:i + 1]:
            out *= blk.conv1.stride[0]
        return out

    def encoder_parameters(self):
        for module in (self.normalize, self.stem, self.features):
            yield from module.parameters()

    def train(self, mode: bool = True):
        """Like ``nn.Module.train``, but the frozen encoder stays in eval mode (its batch-norm
        statistics are the classifier's)."""
        super().train(mode)
        for module in (self.stem, self.features):
            module.eval()
        return self

    @torch.no_grad()
    def init_from(self, classifier: nn.Module) -> SaliencyNet:
        """Copy the encoder's weights (and batch-norm statistics) from ``classifier``, a ResNet of the
        same depth and width (``advlab.zoo.load("cifar_resnet8")``); returns ``self``."""
        checks.model(classifier, "classifier")
        for part in ("normalize", "stem", "features"):
            source = getattr(classifier, part, None)
            if not isinstance(source, nn.Module):
                raise ValueError(f"classifier must be a ResNet-trunk model with a {part!r} part "
                                 f"(e.g. advlab.zoo.load('cifar_resnet8')), got {type(classifier).__name__}")
            try:
                getattr(self, part).load_state_dict(source.state_dict())
            except RuntimeError as err:
                raise ValueError(f"classifier's {part!r} does not match this SaliencyNet's encoder (same depth "
                                 f"and width needed): {str(err).splitlines()[0]}") from None
        return self

    def forward(self, x, cls):
        cls = checks.labels(cls, x.shape[0], self.num_classes, name="cls").to(x.device)
        h = self.stem(self.normalize(x))
        skips = [h]
        for i, block in enumerate(self.features):
            h = block(h)
            if i in self._skips:
                skips.append(h)
        gamma, beta = self.embedding(cls).chunk(2, dim=1)
        h = (1 + gamma[:, :, None, None]) * skips.pop() + beta[:, :, None, None]
        for layer, skip in zip(self.decoder, skips[::-1]):
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = layer(torch.cat([h, skip], dim=1))
        mask = torch.sigmoid(self.head(h))
        if mask.shape[-2:] != x.shape[-2:]:
            mask = F.interpolate(mask, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return mask[:, 0]
