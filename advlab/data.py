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


MAX_IMAGE_PIXELS = 4096 * 4096
"""The most pixels :func:`load_image` decodes: 16,777,216 (4096×4096; a 12-Mpixel photo fits)."""


def load_image(source, size: int = 32, channels: int = 3) -> torch.Tensor:
    """A user's own picture as a 1×C×size×size batch in [0, 1]: centre-cropped to a
    square, then resized (with antialiasing) to the zoo's input size.

    ``source``: a file path, the file's bytes (e.g. from an ipywidgets FileUpload), a PIL image,
    or an H×W, H×W×1, H×W×3 or H×W×4 array (alpha dropped) of ``uint8`` (0..255), ``uint16``
    (0..65535) or floats in [0, 1]. 16-bit pictures (PNG modes ``I;16``/``I``) are scaled by
    1/65535 and float ones kept as they are, without rounding to 8 bits. Small models see 32×32
    pixels, so fine detail is lost: the limitation noted for Bluff's ImageNet-scale demos.

    Size limit: a picture of more than :data:`MAX_IMAGE_PIXELS` (4096×4096 = 16,777,216) pixels
    is refused with a ``ValueError`` before it is decoded (so is a decompression bomb, a small file
    claiming a huge size); JPEGs are first decoded at a reduced scale (PIL's ``draft``, 1/2 to 1/8
    per side), so larger photos still load. An empty picture, a truncated file, or bytes that are
    no picture also give a ``ValueError`` saying which.
    """
    from PIL import Image
    size = checks.number(size, "size", 8, 1024, integer=True)
    checks.choice(channels, "channels", (1, 3))
    if isinstance(source, np.ndarray):
        pixels = _image_array(source)
    elif isinstance(source, (Image.Image, bytes, bytearray, memoryview, str, Path)):
        pixels = _decode_image(source, size, channels)
    else:
        raise ValueError(f"image must be a file path, bytes, a PIL image or an array, got {type(source).__name__}")
    if isinstance(pixels, Image.Image):  # 8 bits per channel: PIL crops and resizes it
        img = pixels.convert("RGB" if channels == 3 else "L")  # 1, P, LA, RGBA, CMYK... too
        w, h = img.size
        side = min(w, h)
        img = img.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
        img = img.resize((size, size), Image.Resampling.LANCZOS)
        arr = np.asarray(img, dtype=np.float32) / 255.0
        t = torch.from_numpy(arr)
        t = t.permute(2, 0, 1) if t.dim() == 3 else t[None]
        return t[None].contiguous()
    # more than 8 bits (H×W×C floats in [0, 1]): each channel resized as a 32-bit float image
    if pixels.shape[2] in (2, 4):
        pixels = pixels[:, :, :-1]  # drop alpha
    if channels == 1 and pixels.shape[2] == 3:
        pixels = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None]  # as PIL's "L"
    elif channels == 3 and pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    h, w = pixels.shape[:2]
    side = min(w, h)
    square = pixels[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(square[:, :, c]), mode="F")
                         .resize((size, size), Image.Resampling.LANCZOS)) for c in range(channels)]
    return torch.from_numpy(np.clip(np.stack(planes), 0.0, 1.0).astype(np.float32))[None].contiguous()


def _check_pixels(width: int, height: int) -> None:
    """``load_image``'s size rule: not empty, at most ``MAX_IMAGE_PIXELS``."""
    if width * height == 0:
        raise ValueError(f"image is empty ({width}×{height} pixels)")
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image is too large to open safely: {width}×{height} = {width * height:,} pixels, "
                         f"the limit is {MAX_IMAGE_PIXELS:,} (4096×4096)")


def _image_array(a: np.ndarray):
    """An array given to ``load_image``: a PIL image if 8-bit, else H×W×C float32 in [0, 1]."""
    from PIL import Image
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image array must be H×W, H×W×1, H×W×3 or H×W×4 (channels last), got shape {a.shape}")
    _check_pixels(a.shape[1], a.shape[0])
    if a.dtype == np.uint8:
        return Image.fromarray(a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    if a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    elif a.dtype.kind == "f" and a.dtype.itemsize <= 8:
        finite = np.isfinite(a)
        lo, hi = (float(a[finite].min()), float(a[finite].max())) if finite.any() else (0.0, 0.0)
        if not finite.all() or lo < 0.0 or hi > 1.0:
            hint = "; divide by 255 (or pass uint8)" if finite.all() and hi <= 255.0 and lo >= 0.0 else ""
            raise ValueError(f"image array of floats must hold values in [0, 1], got "
                             f"{'NaN or infinite values' if not finite.all() else f'values in [{lo:g}, {hi:g}]'}"
                             f"{hint}")
    else:
        raise ValueError(f"image array must have dtype uint8, uint16 or float (values in [0, 1]), got dtype "
                         f"{a.dtype}" + ("; convert with .astype(np.uint8)" if a.dtype.kind in "iu" else ""))
    return (a if a.ndim == 3 else a[:, :, None]).astype(np.float32)


def _decode_image(source, size: int, channels: int):
    """A file path, bytes or PIL image for ``load_image``: its size checked before decoding (JPEGs
    drafted down first), then decoded into what ``_image_array`` returns."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError
    opened = None
    try:
        if isinstance(source, Image.Image):
            img = source
        else:
            if isinstance(source, (bytes, bytearray, memoryview)) and len(source) == 0:
                raise ValueError("image is an empty file (0 bytes)")
            try:
                with warnings.catch_warnings():  # PIL warns from 89 Mpixels and raises from 179: refuse both
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    opened = img = Image.open(io.BytesIO(bytes(source)) if isinstance(
                        source, (bytes, bytearray, memoryview)) else source)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise ValueError(f"image is too large to open safely: PIL refused it before decoding ({err}); "
                                 f"the limit here is {MAX_IMAGE_PIXELS:,} pixels (4096×4096)") from None
            except FileNotFoundError as err:
                raise ValueError(f"image file not found: {err.filename}") from None
            except UnidentifiedImageError:
                head = bytes(source[:8]) if not isinstance(source, (str, Path)) else source
                raise ValueError(f"image could not be read as a picture: not a format PIL knows (PNG, JPEG, GIF, "
                                 f"BMP, WebP, TIFF, ...): {head!r}") from None
            except Exception as err:  # bytes that are no picture, an empty file, a directory, ...
                raise ValueError(f"image could not be read as a picture: {type(err).__name__}: {err}") from None
            if img.format == "JPEG":  # decode at the smallest scale that is still >= size
                img.draft("RGB" if channels == 3 else "L", (size, size))
        _check_pixels(*img.size)  # before decoding
        try:
            img.load()
        except Exception as err:  # truncated or corrupt data
            raise ValueError(f"image could not be read as a picture: {type(err).__name__}: {err}") from None
        if img.mode in ("I", "F") or img.mode.startswith("I;16"):  # 16-bit or float pixels
            a = np.asarray(img)
            if img.mode == "F":
                return _image_array(a.astype(np.float32))
            if a.min() < 0 or a.max() > 65535:
                raise ValueError(f"image has integer pixels outside [0, 65535] (16 bits), got [{a.min()}, {a.max()}]")
            return _image_array(a.astype(np.float32) / 65535.0)
        return img.convert("RGB" if channels == 3 else "L")  # a copy: the file can be closed
    finally:
        if opened is not None:
            opened.close()
