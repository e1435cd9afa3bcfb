"""Chapter 2's exercises: Grad-CAM's channel weights (the spatial mean of ∂y_c/∂A), and the top-k
intersection over union that measures how far a map moves under attack. The checks compare with
:class:`advlab.interpret.GradCAM` and :func:`advlab.metrics.topk_iou`."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import metrics
from ._common import NOT_YET
from ._common import close as _common_close


def _close(got, expected) -> bool:
    return _common_close(got, expected, atol=1e-6)





def _grads(model, x, target, layer, score):
    """∂score/∂A at ``layer`` (N×K×h×w), with ``score(logits)`` summed over the batch."""
    from ..core.probe import LayerProbe, resolve_layer
    with LayerProbe(model, [resolve_layer(model, layer)]) as probe, torch.enable_grad():
        logits = probe.run(x)
        (grads,) = probe.gradients(score(logits), create_graph=False)
    return grads.detach()


def check_gradcam_weights(fn, model, x: torch.Tensor, target: torch.Tensor, layer=None) -> bool:
    """Check ``fn(model, x, target) -> N×K``: Grad-CAM's weight of every channel k of the feature
    maps A = the output of ``layer`` (default ``model.features``, the maps the head pools), the
    spatial mean of ∂y_c/∂A_k with y_c the logit of class ``target``, one row per image.

    Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    from ..interpret import GradCAM  # imported on first use, as ``al.interpret`` is
    raw = fn(model, x, target)
    if raw is None:
        print(NOT_YET)
        return False
    cam = GradCAM(model, layer)
    A, grads, _ = cam.activations_and_grads(x, target)
    expected = cam.weights(A, grads, x, target)
    if not isinstance(raw, torch.Tensor):
        print(f"✗ expected a tensor of shape {tuple(expected.shape)}, got {type(raw).__name__}")
        return False
    got = raw.detach().to(expected.dtype)
    if got.shape != expected.shape:
        n, k, h, w = A.shape
        hint = (" Average the gradient over the positions (dimensions 2 and 3): one weight per channel."
                if tuple(got.shape) == (n, k, h, w) else
                " Average over the positions, not over the channels." if tuple(got.shape) == (n, h, w) else
                " Differentiate with respect to the feature maps A, not the input image."
                if got.dim() >= 2 and got.shape[1] == x.shape[1] and tuple(got.shape[2:]) in ((), tuple(x.shape[2:]))
                else " Keep one row per image (do not average over the batch)." if tuple(got.shape) == (k,) else
                f" A has {k} channels at {h}×{w} positions here.")
        print(f"✗ expected one weight per image and channel, shape {tuple(expected.shape)}, "
              f"got {tuple(got.shape)}.{hint}")
        return False
    if not _close(got, expected):
        h, w = A.shape[2], A.shape[3]
        ce = _grads(model, x, target, layer, lambda z: F.cross_entropy(z, target, reduction="sum")).mean((2, 3))
        prob = _grads(model, x, target, layer, lambda z: z.softmax(1).gather(1, target[:, None]).sum()).mean((2, 3))
        hint = (" Take the mean over the positions, not the sum (divide by h·w)." if _close(got, expected * h * w) else
                " Check the sign: differentiate the class score y_c itself." if _close(got, -expected) else
                " Keep the gradient's sign: no ReLU (that is Grad-CAM++'s idea)."
                if _close(got, grads.clamp(min=0).mean((2, 3))) else
                " Differentiate the class score (the logit y_c), not the loss."
                if _close(got, ce) or _close(got, -ce) else
                " Differentiate the logit y_c, not the softmax probability." if _close(got, prob) else
                " Differentiate the score of each image's own target class, target[n]."
                if _close(got, _grads(model, x, target, layer, lambda z: z[:, 0].sum()).mean((2, 3))) else
                " Differentiate y_c with respect to the output of model.features (the maps the head pools).")
        diff = (got - expected).abs().max().item()
        print(f"✗ differs from al.interpret.GradCAM's weights by up to {diff:.4g}.{hint}")
        return False
    print(f"✓ matches al.interpret.GradCAM's weights: {expected.shape[1]} channels on {len(x)} images "
          f"(largest |weight| {expected.abs().max().item():.3g})")
    return True


def check_topk_iou(fn, map_a: torch.Tensor, map_b: torch.Tensor, k: int) -> bool:
    """Check ``fn(map_a, map_b, k) -> (N,)``: per pair of N×H×W maps, the intersection over union
    of their ``k`` largest pixels, against :func:`advlab.metrics.topk_iou`.

    Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    raw = fn(map_a, map_b, k)
    if raw is None:
        print(NOT_YET)
        return False
    expected = metrics.topk_iou(map_a, map_b, k)
    if not isinstance(raw, torch.Tensor):
        print(f"✗ expected a tensor of shape {tuple(expected.shape)}, got {type(raw).__name__}")
        return False
    got = raw.detach().float()
    if got.shape != expected.shape:
        hint = (" Return one value per pair of maps, not their mean." if got.dim() == 0 else
                " Reduce each map's mask to one number: |A ∩ B| / |A ∪ B|." if got.dim() > 1 else "")
        print(f"✗ expected one value per map, shape {tuple(expected.shape)}, got {tuple(got.shape)}.{hint}")
        return False
    if not _close(got, expected):
        a, b = map_a.flatten(1).float(), map_b.flatten(1).float()
        top = [torch.zeros_like(m, dtype=torch.bool).scatter_(1, m.topk(k, 1).indices, True) for m in (a, b)]
        inter = (top[0] & top[1]).sum(1).float()
        low = [torch.zeros_like(m, dtype=torch.bool).scatter_(1, m.topk(k, 1, largest=False).indices, True)
               for m in (a, b)]
        whole = [torch.zeros_like(m.flatten(), dtype=torch.bool).scatter_(0, m.flatten().topk(k).indices, True)
                 .view_as(m) for m in (a, b)]
        hint = (" Divide by the union |A ∪ B| = 2k − |A ∩ B|, not by k." if _close(got, inter / k) else
                " Divide by the union of the two masks, not the sum of their sizes."
                if _close(got, inter / (2 * k)) else
                " Keep the k *largest* pixels (the region the map points at), not the smallest."
                if _close(got, (low[0] & low[1]).sum(1).float() / (low[0] | low[1]).sum(1).float()) else
                " Take the top k of each map separately, not of the whole batch at once."
                if _close(got, (whole[0] & whole[1]).sum(1).float() / (whole[0] | whole[1]).sum(1).float().clamp(min=1))
                else " Flatten each map (N×H·W), mark its k largest pixels, then |A ∩ B| / |A ∪ B|.")
        diff = (got - expected).abs().max().item()
        print(f"✗ differs from al.metrics.topk_iou by up to {diff:.4g}.{hint}")
        return False
    print(f"✓ matches al.metrics.topk_iou on {len(expected)} pairs of maps (k = {k}, "
          f"mean IoU {expected.mean().item():.3f})")
    return True
