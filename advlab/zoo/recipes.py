"""Training recipes of the zoo: every named model, how it is trained, and how it is evaluated.

A recipe is data, so the manifest records it verbatim and ``python -m
advlab.zoo train NAME`` can rebuild any model from it.
"""

RECIPES = {
    "mnist_cnn": {
        "description": "Madry et al.'s MNIST CNN, standard training",
        "arch": "madry_cnn", "arch_kwargs": {"pool": "max"},
        "dataset": "mnist", "epochs": 3, "batch_size": 128, "seed": 0,
        "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "schedule": "onecycle",
        "label_smoothing": 0.0, "augment": None, "adversarial": None,
        "robust_eval": {"attack": "pgd", "eps": 0.3, "steps": 40, "alpha": 0.01, "n": 1000},
    },
    "cifar_gap_cnn": {
        "description": "VGG-style CNN (6 conv layers, BN, max pooling) with a global-average-pooling "
                       "head, so CAM applies; standard training",
        "arch": "gap_cnn", "arch_kwargs": {"pool": "max"},
        "dataset": "cifar10", "epochs": 20, "batch_size": 128, "seed": 0,
        "optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4, "schedule": "onecycle",
        "label_smoothing": 0.1, "augment": "crop_flip", "adversarial": None,
        "robust_eval": {"attack": "pgd", "eps": 8 / 255, "steps": 10, "alpha": 2 / 255, "n": 1000},
    },
}

# The adversarially trained MNIST model is the standard recipe plus PGD training.
RECIPES["mnist_cnn_at"] = dict(
    RECIPES["mnist_cnn"],
    description="The same CNN, PGD adversarial training at L-inf eps = 0.3 (Madry et al. 2018), "
                "eps ramped linearly from 0 over the first 3 epochs",
    epochs=8,
    adversarial={"attack": "pgd", "norm": "linf", "eps": 0.3, "steps": 7, "alpha": 0.1, "ramp_epochs": 3},
)

# Shape vs texture (Zhang & Zhu 2019): one ResNet-8 (width 16), standard and adversarial training.
# Every model is evaluated with the same yardstick, PGD-20 L-inf 8/255, on the first 1,000 test images.
_PGD20 = {"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 20, "alpha": 2 / 255, "n": 1000}
RECIPES["cifar_resnet8"] = {
    "description": "ResNet-8 (width 16, 78k parameters), standard training",
    "arch": "resnet", "arch_kwargs": {"depth": 8, "width": 16},
    "dataset": "cifar10", "epochs": 15, "batch_size": 128, "seed": 0,
    "optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4, "schedule": "onecycle",
    "label_smoothing": 0.0, "augment": "crop_flip", "adversarial": None,
    "robust_eval": _PGD20,
}
_AT = dict(RECIPES["cifar_resnet8"], epochs=6)
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
    _AT, epochs=8,
    description="ResNet-8, FGSM adversarial training with random start at L-inf eps = 8/255, "
                "step 1.25 eps (Wong et al. 2020), eps ramped over the first 2 of 8 epochs",
    adversarial={"attack": "fgsm", "norm": "linf", "eps": 8 / 255, "steps": 1, "alpha": 10 / 255,
                 "random_start": True, "ramp_epochs": 2})

# CAM vs attention pooling vs ProtoPNet (the seminar study): the CNN is ``cifar_resnet8``; the two
# others share its trunk (ResNet-8, width 16), data, augmentation, optimiser and epochs.
RECIPES["cifar_attention_pool"] = dict(
    RECIPES["cifar_resnet8"],
    description="ResNet-8 trunk with attentional pooling (Girdhar & Ramanan 2017: class-agnostic "
                "bottom-up and class-specific top-down attention, rank-1 bilinear pooling), standard training",
    arch="attention_pool", arch_kwargs={"depth": 8, "width": 16})
RECIPES["cifar_protopnet"] = dict(
    RECIPES["cifar_resnet8"],
    description="ResNet-8 trunk with a ProtoPNet head (Chen et al. 2019: 5 prototypes per class in a "
                "32-d latent space; cross-entropy + 0.8 cluster - 0.08 separation, trained jointly from "
                "scratch; then push onto the nearest training patches and 20 epochs of last-layer "
                "fine-tuning with L1 1e-4)",
    arch="protopnet", arch_kwargs={"depth": 8, "width": 16, "prototypes_per_class": 5, "proto_dim": 32},
    finalize={"last_layer_epochs": 20})
