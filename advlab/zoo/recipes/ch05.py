"""Chapter 5, interpretable deep learning under fire (Zhang et al., USENIX Security 2020, ADV²): the
model-guided interpreter RTS (Dabkowski & Gal 2017) of ``cifar_resnet8``, in small.

``cifar_rts`` is a ``SaliencyNet``: the classifier's trunk as a frozen encoder (copied from the
parent), a class embedding that modulates the deepest features, one upsampling decoder stage to a
16×16 mask (upsampled to 32×32). Objective ``rts``: area 4·mean(m), smoothness 2·TV(m), −log p_c of
the image kept by the mask (elsewhere a Gaussian blur of std 3 px), 1·p_c of the image with the
mask's region blurred, and for 30 % of the batch a wrong class with the area term alone.
Two epochs of Adam, sized to about ten minutes on 2 CPU threads. The manifest's ``evaluations.subset``
measures it on the bundled 1,000 test images (accuracy of the parent on preserved, destroyed and
random same-area masked images; mask areas for the true and for another class).
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
