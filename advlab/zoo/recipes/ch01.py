"""Chapter 1, adversarial examples: Madry et al.'s MNIST CNN, standard and PGD-trained, and a CIFAR-10
CNN with a global-average-pooling head (so CAM applies)."""

RECIPES = {
    "mnist_cnn": {
        "description": "Madry et al.'s MNIST CNN, standard training",
        "kind": "classifier", "objective": "ce",
        "arch": "madry_cnn", "arch_kwargs": {"pool": "max"},
        "dataset": "mnist", "epochs": 3, "batch_size": 128, "seed": 0,
        "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "schedule": "onecycle",
        "label_smoothing": 0.0, "augment": None, "adversarial": None,
        "robust_eval": {"attack": "pgd", "eps": 0.3, "steps": 40, "alpha": 0.01, "n": 1000},
    },
    "cifar_gap_cnn": {
        "description": "VGG-style CNN (6 conv layers, BN, max pooling) with a global-average-pooling "
                       "head, so CAM applies; standard training",
        "kind": "classifier", "objective": "ce",
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
    epochs=8, objective="pgd_at",
    adversarial={"attack": "pgd", "norm": "linf", "eps": 0.3, "steps": 7, "alpha": 0.1, "ramp_epochs": 3},
)
