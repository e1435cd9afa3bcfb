"""Datasets: MNIST, Fashion-MNIST and CIFAR-10 as tensors in [0, 1].

Where the data comes from is explicit:

* ``ADVLAB_DATA`` (default ``~/.cache/advlab``) is the torchvision root where
  datasets live.
* ``ADVLAB_DATASETS`` may point to a folder of offline copies laid out as
  ``mnist/``, ``fashion-mnist/`` (the original idx ``.gz`` files) and
  ``cifar10-jpg/`` (CIFAR-10 as JPEG with ``test_order.csv``). When set, the
  copies are put into the data root on first use; nothing is downloaded.
* ``download=True`` lets torchvision download the exact sets (needs internet).

The package also ships the first 1,000 test images of each set
(:func:`subset`), so chapters, widgets and tests run with no dataset at all.
Nothing here touches the network at import time.
"""
from __future__ import annotations

import csv
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .core import checks

DATASETS = ("mnist", "fashion-mnist", "cifar10")
SPLITS = ("train", "test")

CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
}

# What one image of each set is: channels, height, width (a zoo model's ``input_shape``).
SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}

ATTRIBUTION = {
    "mnist": "MNIST: Y. LeCun, C. Cortes, C. J. C. Burges (yann.lecun.com/exdb/mnist).",
    "fashion-mnist": "Fashion-MNIST: H. Xiao, K. Rasul, R. Vollgraf (2017), Zalando SE, MIT licence.",
    "cifar10": "CIFAR-10: A. Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images.",
}

_TV_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_SUBSET_DIR = Path(__file__).parent / "_data"


class DataNotFoundError(ValueError):
    """Raised when a dataset is found nowhere; the message says where we looked."""


def data_root() -> Path:
    """The torchvision root: ``$ADVLAB_DATA`` or ``~/.cache/advlab``."""
    return Path(os.environ.get("ADVLAB_DATA", Path.home() / ".cache" / "advlab")).expanduser()


def offline_copies() -> Path | None:
    """The folder of offline copies named by ``$ADVLAB_DATASETS``, if any."""
    p = os.environ.get("ADVLAB_DATASETS")
    return Path(p).expanduser() if p else None


@dataclass
class TensorSet:
    """A whole split as tensors: ``x`` float in [0, 1] (N×C×H×W), ``y`` long."""
    x: torch.Tensor
    y: torch.Tensor
    name: str
    split: str
    variant: str

    def __len__(self):
        return len(self.y)

    @property
    def classes(self):
        return CLASSES[self.name]


def _not_found(name: str, looked: list[str]) -> DataNotFoundError:
    return DataNotFoundError(
        f"dataset {name!r} not found. Looked in: {'; '.join(looked)}. Fix: set ADVLAB_DATASETS to a folder "
        f"of offline copies (e.g. ../shared/datasets), or pass download=True on a machine with internet, "
        f"or use advlab.data.subset({name!r}) for the bundled 1,000 test images."
    )


def _stage_idx(name: str, root: Path) -> bool:
    """Copy offline idx .gz files into ``<root>/<Folder>/raw`` if available."""
    raw = root / _TV_FOLDER[name] / "raw"
    if raw.is_dir() and any(raw.glob("*.gz")):
        return True
    src = offline_copies()
    if src is None or not (src / name).is_dir():
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for f in (src / name).glob("*-ubyte.gz"):
        shutil.copy(f, raw / f.name)
    return True


def _stage_cifar_jpg(root: Path) -> Path | None:
    dest = root / "cifar10-jpg"
    if (dest / "test_order.csv").is_file() and (dest / "train").is_dir():
        return dest
    src = offline_copies()
    if src is None or not (src / "cifar10-jpg").is_dir():
        return None
    dest.mkdir(parents=True, exist_ok=True)
    for part in ("test", "train"):
        with tarfile.open(src / "cifar10-jpg" / f"cifar10-jpg-{part}.tar.gz") as tar:
            tar.extractall(dest, filter="data")
    shutil.copy(src / "cifar10-jpg" / "test_order.csv", dest / "test_order.csv")
    return dest


class Cifar10Jpeg(torch.utils.data.Dataset):
    """CIFAR-10 stored as JPEG (quality 75), in the original test order.

    ``variant`` is ``"jpeg-q75"``: pixels differ from the exact set by about
    6/255 on average, so accuracies are about 1 point off.
    """
    variant = "jpeg-q75"

    def __init__(self, root: Path, train: bool, transform=None):
        self.root, self.transform = Path(root), transform
        if train:
            files = sorted((self.root / "train").glob("*/*.jpg"))
            names = CLASSES["cifar10"]
            self.items = [(f, names.index(f.parent.name)) for f in files]
        else:
            with open(self.root / "test_order.csv") as fh:
                rows = sorted(csv.DictReader(fh), key=lambda r: int(r["test_index"]))
            self.items = [(self.root / r["path"], int(r["label"])) for r in rows]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        from PIL import Image
        path, label = self.items[i]
        img = Image.open(path).convert("RGB")
        return (self.transform(img) if self.transform else img), label


def load(name: str, split: str = "test", download: bool = False):
    """A torchvision-style dataset returning (image tensor in [0, 1], label).

    The returned object has a ``variant`` attribute: ``"exact"`` for the
    original files, ``"jpeg-q75"`` for the JPEG copy of CIFAR-10.
    """
    import torchvision
    from torchvision.transforms import ToTensor

    checks.choice(name, "dataset", DATASETS)
    checks.choice(split, "split", SPLITS)
    root = data_root()
    train = split == "train"
    looked = [f"{root} (ADVLAB_DATA)", f"{offline_copies()} (ADVLAB_DATASETS)"]
    if name in _TV_FOLDER:
        cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
        if not (_stage_idx(name, root) or download):
            raise _not_found(name, looked)
        # download=True only checks MD5s when the files are already in raw/.
        ds = cls(str(root), train=train, download=True, transform=ToTensor())
        ds.variant = "exact"
        return ds
    exact = root / "cifar-10-batches-py"
    if exact.is_dir() or download:
        ds = torchvision.datasets.CIFAR10(str(root), train=train, download=download, transform=ToTensor())
        ds.variant = "exact"
        return ds
    jpg = _stage_cifar_jpg(root)
    if jpg is None:
        raise _not_found(name, looked)
    return Cifar10Jpeg(jpg, train=train, transform=ToTensor())


def tensors(name: str, split: str = "test", download: bool = False) -> TensorSet:
    """The whole split as one :class:`TensorSet`, cached as uint8 under the data root."""
    ds = load(name, split, download)
    cache = data_root() / "advlab-cache" / f"{name}-{split}-{ds.variant}.pt"
    if cache.is_file():
        blob = torch.load(cache)
    else:
        if hasattr(ds, "data") and hasattr(ds, "targets"):
            x = torch.as_tensor(np.asarray(ds.data))
            x = x.unsqueeze(1) if x.dim() == 3 and name != "cifar10" else x.permute(0, 3, 1, 2)
            y = torch.as_tensor(np.asarray(ds.targets))
        else:
            from tqdm.auto import tqdm
            xs, ys = [], []
            for i in tqdm(range(len(ds)), desc=f"decoding {name} {split}", leave=False):
                img, label = ds[i]
                xs.append((img * 255).round().to(torch.uint8))
                ys.append(label)
            x, y = torch.stack(xs), torch.tensor(ys)
        blob = {"x": x.contiguous(), "y": y.long()}
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blob, cache)
    return TensorSet(blob["x"].float() / 255, blob["y"], name, split, ds.variant)


def subset(name: str, n: int | None = None) -> TensorSet:
    """The bundled first 1,000 test images of ``name`` (shipped with advlab).

    CIFAR-10's subset comes from the JPEG copy (variant ``jpeg-q75``) unless
    the package was rebuilt from the exact set; ``.variant`` says which.
    """
    checks.choice(name, "dataset", DATASETS)
    path = _SUBSET_DIR / f"{name}-test1000.npz"
    with np.load(path) as f:
        x, y, variant = f["x"], f["y"], str(f["variant"])
    if n is not None:
        checks.number(n, "n", 1, len(y), integer=True)
        x, y = x[:n], y[:n]
    return TensorSet(torch.from_numpy(x).float() / 255, torch.from_numpy(y).long(), name, "test", variant)


def write_subset(name: str, n: int = 1000) -> Path:
    """Write the bundled subset of ``name`` from the full test set (maintainers)."""
    ts = tensors(name, "test")
    x = (ts.x[:n] * 255).round().to(torch.uint8).numpy()
    path = _SUBSET_DIR / f"{name}-test1000.npz"
    np.savez_compressed(path, x=x, y=ts.y[:n].numpy().astype(np.int64), variant=ts.variant,
                        attribution=ATTRIBUTION[name])
    return path


def load_image(source, size: int = 32, channels: int = 3) -> torch.Tensor:
    """A user's own picture as a 1×C×size×size batch in [0, 1]: centre-cropped to a
    square, then resized (with antialiasing) to the zoo's input size.

    ``source``: a file path, the file's bytes (e.g. from an ipywidgets FileUpload),
    a PIL image or an H×W(×C) uint8 array. Small models see 32×32 pixels, so fine
    detail is lost: the limitation noted for Bluff's ImageNet-scale demos.
    """
    import io

    from PIL import Image, UnidentifiedImageError
    size = checks.number(size, "size", 8, 1024, integer=True)
    checks.choice(channels, "channels", (1, 3))
    try:
        if isinstance(source, Image.Image):
            img = source
        elif isinstance(source, np.ndarray):
            img = Image.fromarray(source)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            img = Image.open(io.BytesIO(bytes(source)))
        elif isinstance(source, (str, Path)):
            img = Image.open(source)
        else:
            raise ValueError(f"image must be a file path, bytes, a PIL image or a uint8 array, "
                             f"got {type(source).__name__}")
        img = img.convert("RGB" if channels == 3 else "L")
    except (UnidentifiedImageError, OSError, TypeError) as err:
        raise ValueError(f"image could not be read as a picture: {err}") from None
    w, h = img.size
    side = min(w, h)
    img = img.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    t = torch.from_numpy(arr)
    t = t.permute(2, 0, 1) if t.dim() == 3 else t[None]
    return t[None].contiguous()
