"""Attack pathways (chapter 8, after Bluff; Das et al., VIS 2020): which channels of each layer
carry the benign class, the target class and the adversarial images, and how strongly a shown
channel feeds the channels of the next shown layer.

>>> pw = al.interpret.pathways(model, x_cat, x_dog, x_adv)       # a Pathway
>>> pw.filter("most_excited", 3)                                  # the panel's filters
>>> al.plot.pathway_graph(pw)

Groups of a shown channel (Bluff's colours): ``"benign"`` (green: among the top ``share`` of
the layer for the benign images only), ``"target"`` (blue: for the target class only),
``"both"`` (orange: for both), ``"adversarial"`` (red: for the adversarial images only).
Drill-down on one channel: :func:`channel_response` (its activation against the attack's
strength), :func:`top_patches` (the dataset patches that excite it most) and
:func:`visualize_channel` (regularised activation maximisation in input space).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

#: the four groups of a shown channel, in drawing order, with Bluff's colour names
GROUPS = ("benign", "target", "both", "adversarial")
#: the filters of :meth:`Pathway.filter`
FILTERS = ("most_activated", "most_changed", "most_excited", "most_inhibited")
#: what a channel's importance is measured by
IMPORTANCE = ("activation", "grad_x_activation")


@dataclass
class Pathway:
    """The attribution graph of one benign class, one target class and one attack.

    ``layers``: the layers shown, in forward order. ``channels``: per layer, one dict per shown
    channel with ``channel`` (index), ``group`` (one of :data:`GROUPS`) and ``benign``,
    ``target``, ``adversarial`` (its mean activation over images and positions for each batch).
    ``edges``: ``(layer, channel, next_layer, next_channel, influence)``, the influence of a
    shown channel on a shown channel of the next layer, averaged over the benign and adversarial
    images (the ``connections`` strongest per channel). ``activation``: group name
    (``"benign"``, ``"target"``, ``"adversarial"``) → layer → (C,) mean activation of every
    channel. ``importance``: the same for the measure that picked the channels (equal to
    ``activation`` for ``importance="activation"``). ``share`` and ``connections``: the settings
    used."""

    layers: list[str]
    channels: dict[str, list[dict]]
    edges: list[tuple[str, int, str, int, float]]
    activation: dict[str, dict[str, torch.Tensor]]
    importance: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    share: float = 0.1
    connections: int = 3

    def filter(self, kind: str, k: int) -> Pathway:
        """A new Pathway with, per layer, only the ``k`` shown channels ranked first by ``kind``:
        ``"most_activated"`` (adversarial mean activation), ``"most_changed"`` (|adv − benign|),
        ``"most_excited"`` (adv − benign, largest) or ``"most_inhibited"`` (benign − adv,
        largest); edges are kept between kept channels."""
        raise NotImplementedError


def pathway_layers(model: torch.nn.Module) -> list[str]:
    """The default layers to show: the outputs of the model's convolutional blocks in forward
    order (after each block's non-linearity), 4–6 layers for the zoo's CIFAR-10 CNNs."""
    raise NotImplementedError


def pathways(model: torch.nn.Module, benign: torch.Tensor, target: torch.Tensor, adversarial: torch.Tensor,
             *, layers: list[str] | None = None, share: float = 0.1, connections: int = 3,
             importance: str = "activation") -> Pathway:
    """The attack pathway graph of ``model``.

    ``benign``: images of the benign class (N×C×H×W in [0, 1]); ``target``: images of the
    target class; ``adversarial``: the adversarial versions of ``benign``. ``layers``: names
    (default :func:`pathway_layers`). Per layer the top ``share`` (0, 1] of channels for each of
    the three batches is shown, grouped as in :data:`GROUPS`; edges keep the ``connections``
    strongest links (≥ 0) of each shown channel to the next layer's shown channels.
    ``importance``: ``"activation"`` (mean activation) or ``"grad_x_activation"`` (mean of
    activation × gradient of the batch's class score: the benign class for the benign and
    adversarial images, the target class for the target images)."""
    raise NotImplementedError


def channel_response(model: torch.nn.Module, layer: str, channel: int, images: torch.Tensor, labels,
                     attack, eps_values, *, target_images: torch.Tensor | None = None,
                     target=None) -> dict:
    """The mean activation of ``channel`` of ``layer`` on ``images`` attacked at each ε of
    ``eps_values``. ``attack``: ``"fgsm"``, ``"pgd"`` or a callable ``attack(eps) -> advlab
    attack``; ``labels``: the images' classes (or, for a targeted attack, the target class given
    as ``target``). Returns ``{"eps": [...], "mean": [...], "per_image": N×len(eps) tensor,
    "target_mean": float or None}``: ``target_mean`` is the clean mean activation of
    ``target_images`` (the reference line of the target class)."""
    raise NotImplementedError


def top_patches(model: torch.nn.Module, layer: str, channel: int, images: torch.Tensor, k: int = 9) -> torch.Tensor:
    """The ``k`` image patches (k×C×h×w) under the receptive fields of the ``k`` positions where
    ``channel`` of ``layer`` is most activated over ``images`` (at most one per image)."""
    raise NotImplementedError


def visualize_channel(model: torch.nn.Module, layer: str, channel: int, *, steps: int = 64, lr: float = 0.05,
                      seed: int = 0, size: int | None = None) -> torch.Tensor:
    """Regularised activation maximisation: a 1×C×H×W image in [0, 1] that maximises the mean
    activation of ``channel`` of ``layer``, optimised for ``steps`` Adam steps of rate ``lr``
    from seeded noise, with random jitter and a total-variation penalty. ``size``: the side in
    pixels (default the model's ``input_shape``)."""
    raise NotImplementedError
