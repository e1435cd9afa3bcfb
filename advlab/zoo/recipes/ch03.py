"""Chapter 3, shape vs texture (Zhang & Zhu 2019): one ResNet-8 (width 16), standard, cut short, and
adversarially trained (PGD L∞ and L2, FGSM with random start).

Every model is evaluated with the same yardstick, PGD-20 L∞ 8/255, on the first 1,000 test images.
"""

from .ch01 import RECIPES as CH01

_PGD20 = {"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 20, "alpha": 2 / 255, "n": 1000}

RECIPES = {
    "cifar_resnet8": {
        "description": "ResNet-8 (width 16, 78k parameters), standard training",
        "kind": "classifier", "objective": "ce",
        "arch": "resnet", "arch_kwargs": {"depth": 8, "width": 16},
        "dataset": "cifar10", "epochs": 15, "batch_size": 128, "seed": 0,
        "optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4, "schedule": "onecycle",
        "label_smoothing": 0.0, "augment": "crop_flip", "adversarial": None,
        "robust_eval": _PGD20,
    },
}
_AT = dict(RECIPES["cifar_resnet8"], epochs=6, objective="pgd_at")
RECIPES["cifar_resnet8_underfit"] = dict(
    RECIPES["cifar_resnet8"], epochs=2,
    description="ResNet-8, standard training cut short (2 epochs) so that its clean accuracy "
                "is close to the adversarially trained models' ('underfit' in Zhang & Zhu)")
RECIPES["cifar_resnet8_pgd_linf2"] = dict(
    _AT, description="ResNet-8, PGD-4 adversarial training at L-inf eps = 2/255 (step eps/2), "
                     "eps ramped from 0 over the first 2 of 6 epochs",
    adversarial={"attack": "pgd", "norm": "linf", "eps": 2 / 255, "steps": 4, "alpha": 1 / 255, "ramp_epochs": 2})
RECIPES["cifar_resnet8_pgd_linf8"] = dict(
    _AT, description="ResNet-8, PGD-4 adversarial training at L-inf eps = 8/255 (step eps/2), "
                     "eps ramped from 0 over the first 2 of 6 epochs",
    adversarial={"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 4, "alpha": 4 / 255, "ramp_epochs": 2})
RECIPES["cifar_resnet8_pgd_l2"] = dict(
    _AT, description="ResNet-8, PGD-4 adversarial training at L2 eps = 0.5 (step eps/2), "
                     "eps ramped from 0 over the first 2 of 6 epochs",
    adversarial={"attack": "pgd", "norm": "l2", "eps": 0.5, "steps": 4, "alpha": 0.25, "ramp_epochs": 2})
RECIPES["cifar_resnet8_fgsm8"] = dict(
    _AT, epochs=8, objective="fgsm_rs",
    description="ResNet-8, FGSM adversarial training with random start at L-inf eps = 8/255, "
                "step 1.25 eps (Wong et al. 2020), eps ramped over the first 2 of 8 epochs",
    adversarial={"attack": "fgsm", "norm": "linf", "eps": 8 / 255, "steps": 1, "alpha": 10 / 255,
                 "random_start": True, "ramp_epochs": 2})

# The feature network of the stylised set (advlab.stylize): none of the six evaluated models, of
# another architecture (chapter 1's VGG-style CNN), adversarially trained, since a robust network's
# features make a more perceptual style transfer than a standard one's high-frequency speckle.
RECIPES["cifar_gap_cnn_pgd_l2"] = dict(
    CH01["cifar_gap_cnn"], objective="pgd_at", epochs=5, label_smoothing=0.0,
    description="VGG-style CNN (as cifar_gap_cnn), PGD-2 adversarial training at L2 eps = 0.5 (step 0.3), "
                "eps ramped over the first epoch of 5: the feature network of the stylised set",
    adversarial={"attack": "pgd", "norm": "l2", "eps": 0.5, "steps": 2, "alpha": 0.3, "ramp_epochs": 1},
    robust_eval=_PGD20)
