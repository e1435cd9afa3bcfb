"""advlab: adversarial attacks meet interpretability — the code behind the book.

>>> import advlab as al
>>> model = al.zoo.load("mnist_cnn")
>>> x, y = al.data.subset("mnist", n=8).x, al.data.subset("mnist", n=8).y
>>> x_adv = al.attacks.PGD(model, eps=0.3, steps=40, alpha=0.01)(x, y)

Importing advlab has no side effects: no downloads, no warning filters, no
thread settings.
"""
from . import attacks, core, data, exercises, landscape, metrics, models, transforms, zoo

__version__ = "0.1.0"


def __getattr__(name):
    # heavier, optional parts are imported on first use
    import importlib
    if name in ("interpret", "widgets", "plot", "stylize", "squeeze", "train", "report", "studies"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'advlab' has no attribute {name!r}")
