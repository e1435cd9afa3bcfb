"""Chapter 5, interpretable deep learning under fire (Zhang et al., USENIX Security 2020, ADV²): the
model-guided interpreter RTS (Dabkowski & Gal 2017) of ``cifar_resnet8``, in small.

``cifar_rts`` is a ``SaliencyNet``: the classifier's trunk as a frozen encoder (copied from the
parent), a class embedding that modulates the deepest features, one upsampling decoder stage to a
16×16 mask (upsampled to 32×32). Objective ``rts``: area 4·mean(m), smoothness 2·TV(m), −log p_c of
the image kept by the mask (elsewhere a Gaussian blur of std 3 px), 1·p_c of the image with the
mask's region blurred, and for 30 % of the batch a wrong class with the area term alone.
Two epochs of Adam (780 steps of 128): 1,210 s on 2 CPU threads that a CI run was sharing (about
1.1 steps/s, 6 minutes an epoch, when it was not). The manifest's ``evaluations.subset`` measures it
on the bundled 1,000 test images: mean mask area 16.7 % (4.6 % for a class that is not the image's);
the parent's accuracy is 78.7 % on the images the mask preserves (80.9 % clean, 35.5 % with a random
mask of the same area) and 37.3 % when the mask's region is blurred (76.2 % for the random region).
"""

RECIPES = {
    "cifar_rts": {
        "description": "Real-time saliency model (Dabkowski & Gal 2017) of cifar_resnet8: frozen ResNet-8 "
                       "encoder, class-modulated features, 16x16 mask decoder",
        "kind": "explainer", "parent": "cifar_resnet8", "objective": "rts",
        "arch": "saliency_net", "arch_kwargs": {"depth": 8, "width": 16, "num_classes": 10, "mask_scale": 2},
        "dataset": "cifar10", "epochs": 2, "batch_size": 128, "seed": 0,
        "optimizer": "adam", "lr": 3e-3, "weight_decay": 0.0, "schedule": "onecycle", "augment": None,
        "adversarial": None,
        "rts": {"area": 4.0, "tv": 2.0, "destroy": 1.0, "fake": 0.3, "fill": "blur", "sigma": 3.0},
    },
}
