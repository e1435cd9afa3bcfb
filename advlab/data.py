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
import gzip
import hashlib
import math
import os
import shutil
import struct
import tarfile
import tempfile
import warnings
import zlib
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
    """A dataset is missing, incomplete, corrupt or unreadable. ``problem`` says what (naming the
    files), ``fixes`` how to repair it; the message holds both."""

    def __init__(self, problem: str, fixes: list[str] | None = None):
        self.problem = problem
        self.fixes = list(fixes) if fixes is not None else []
        super().__init__(f"{problem} Fix: {'; or '.join(self.fixes)}." if self.fixes else problem)


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


def _fixes(name: str) -> list[str]:
    return [f"set ADVLAB_DATASETS to a folder of offline copies (e.g. ../shared/datasets) holding {_OFFLINE[name]}/",
            "pass download=True on a machine with internet",
            f"use advlab.data.subset({name!r}) for the bundled 1,000 test images"]


def _not_found(name: str, looked: list[str]) -> DataNotFoundError:
    return DataNotFoundError(f"dataset {name!r} not found. Looked in: {'; '.join(looked)}.", _fixes(name))


# Bytes of the original idx .gz files; torchvision's ``resources`` give their names and MD5s.
_IDX_BYTES = {
    "mnist": {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
              "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
    "fashion-mnist": {"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
                      "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
}
# The JPEG copy of CIFAR-10 (its SOURCE.md): bytes and sha256 of each file, and JPEGs per class.
_CIFAR_JPG = {
    "cifar10-jpg-test.tar.gz": (3241094, "2f78efc30b2c0bb10b3c9e22a3c9a788ae74677a6e367fe5703461199ffe67e0"),
    "cifar10-jpg-train.tar.gz": (16191966, "e23a05ee43cf7e36fa212a9774e47d68233c1595ee3ed2b5c790b00c6767fb31"),
    "test_order.csv": (328918, "15ca4e5363eedd154f4b6e01222c9d7c033a427ed71a256886bc5f0aaaec994f"),
}
_CIFAR_JPG_PER_CLASS = {"train": 5000, "test": 1000}
_OFFLINE = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "cifar10": "cifar10-jpg"}


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_problem(path: Path, size: int | None, digest: str, algo: str) -> str | None:
    """None when ``path`` is a file of ``size`` bytes with this digest, else what is wrong with it."""
    expected = (f"{size:,} bytes, " if size is not None else "") + f"{algo} {digest}"
    try:
        st = path.stat()
        if not path.is_file():
            return f"{path} is not a file (expected {expected})"
        if size is not None and st.st_size != size:
            return f"{path} has {st.st_size:,} bytes (expected {expected})"
        got = _digest(path, algo)
    except FileNotFoundError:
        return f"{path} is missing (expected {expected})"
    except OSError as err:
        return f"{path} cannot be read: {err.strerror} (expected {expected})"
    return None if got == digest else f"{path} has {algo} {got} (expected {expected})"


def _idx_problem(path: Path) -> str | None:
    """None when ``path`` is a complete uint8 idx file (its size agrees with its header)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4)
            ndim = head[3] if len(head) == 4 else 0
            dims = fh.read(4 * ndim)
    except FileNotFoundError:
        return f"{path} is missing"
    except OSError as err:
        return f"{path} cannot be read: {err.strerror}"
    if len(head) < 4 or head[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 3 or len(dims) < 4 * ndim:
        return f"{path} is not a uint8 idx file (bad header)"
    expected = 4 + 4 * ndim + math.prod(struct.unpack(f">{ndim}I", dims))
    return None if size == expected else f"{path} has {size:,} bytes, its header says {expected:,}"


def _atomic(dest: Path, write) -> None:
    """``write(tmp)`` next to ``dest``, then rename it to ``dest``: no half-written ``dest`` is left."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _gunzip(src: Path, dest: Path) -> None:
    with gzip.open(src, "rb") as fi, open(dest, "wb") as fo:
        shutil.copyfileobj(fi, fo)


def _tv_idx_class(name: str):
    import torchvision
    return torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST


def _prepare_idx(name: str, root: Path, download: bool, looked: list[str]) -> None:
    """Make ``<root>/<Folder>/raw`` hold the four checked, extracted idx files torchvision reads,
    staging them from ``$ADVLAB_DATASETS/<name>`` where needed. Every .gz is checked against
    torchvision's MD5 (and its original size) before use; with ``download=False`` a missing or
    corrupt file is an error naming it, so torchvision never goes to the network."""
    raw = root / _TV_FOLDER[name] / "raw"
    src = offline_copies()
    srcdir = src / name if src is not None else None
    if not download and not raw.is_dir() and (srcdir is None or not srcdir.exists()):
        raise _not_found(name, looked)
    if srcdir is not None and srcdir.exists() and not srcdir.is_dir():
        raise DataNotFoundError(f"{srcdir} (ADVLAB_DATASETS/{name}) is not a folder.",
                                [f"make it a folder holding the original idx .gz files of {name}",
                                 "unset ADVLAB_DATASETS"])
    problems, expected = [], []
    for resource, md5 in _tv_idx_class(name).resources:
        filename = os.path.basename(resource)
        size = _IDX_BYTES[name].get(filename)
        expected.append(f"{filename} ({size:,} bytes, md5 {md5})" if size else f"{filename} (md5 {md5})")
        ext = raw / filename.removesuffix(".gz")
        if _idx_problem(ext) is None:
            continue
        gz = raw / filename
        bad_gz = _file_problem(gz, size, md5, "md5")
        if bad_gz is not None:
            offline = srcdir / filename if srcdir is not None else None
            bad_src = _file_problem(offline, size, md5, "md5") if offline is not None else None
            if offline is None or bad_src is not None:
                if ext.exists():
                    problems.append(f"{_idx_problem(ext)}")
                problems += [p for p in (bad_gz if gz.exists() or bad_src is None else None, bad_src) if p]
                if download and ext.exists():  # derived from a bad .gz: torchvision would read it as it is
                    ext.unlink()
                continue
            raw.mkdir(parents=True, exist_ok=True)
            _atomic(gz, lambda tmp, f=offline: shutil.copyfile(f, tmp))
        _atomic(ext, lambda tmp, f=gz: _gunzip(f, tmp))
        if (bad := _idx_problem(ext)) is not None:
            problems.append(bad)
    if problems and not download:
        where = f"{srcdir} (ADVLAB_DATASETS)" if srcdir is not None else f"$ADVLAB_DATASETS/{name}/"
        raise DataNotFoundError(
            f"dataset {name!r} is incomplete or corrupt: {'; '.join(problems)}. torchvision needs all four "
            f"original files: {', '.join(expected)}.",
            [f"put the original files in {where} or in {raw}, replacing corrupt ones",
             "pass download=True on a machine with internet",
             f"use advlab.data.subset({name!r}) for the bundled 1,000 test images"])


def _check_cifar_exact(root: Path) -> None:
    import torchvision
    cls = torchvision.datasets.CIFAR10
    folder = root / cls.base_folder
    files = [*cls.train_list, *cls.test_list, [cls.meta["filename"], cls.meta["md5"]]]
    problems = [p for f, md5 in files if (p := _file_problem(folder / f, None, md5, "md5")) is not None]
    if problems:
        raise DataNotFoundError(
            f"the exact CIFAR-10 set in {folder} is incomplete or corrupt: {'; '.join(problems)}.",
            [f"put the original python batches in {folder}", "pass download=True on a machine with internet",
             f"delete {folder} to use the JPEG copy from ADVLAB_DATASETS/cifar10-jpg"])


def _stage_cifar_jpg(root: Path) -> Path | None:
    """The JPEG copy of CIFAR-10 under the data root, staged from ``$ADVLAB_DATASETS/cifar10-jpg``
    on first use: the archives are checked (size, sha256), extracted into a temporary folder and
    renamed into place, so a failure leaves no half-made folder."""
    dest = root / "cifar10-jpg"
    if dest.exists():
        return dest  # staged whole (or put there by hand); Cifar10Jpeg names anything missing
    src = offline_copies()
    if src is None or not (src / "cifar10-jpg").exists():
        return None
    srcdir = src / "cifar10-jpg"
    fix = [f"put the original files of the JPEG copy in {srcdir} (ADVLAB_DATASETS)",
           "pass download=True for the exact set (needs internet)",
           "use advlab.data.subset('cifar10') for the bundled 1,000 test images"]
    problems = [p for f, (size, sha) in _CIFAR_JPG.items() if (p := _file_problem(srcdir / f, size, sha, "sha256"))]
    if problems:
        raise DataNotFoundError(f"the JPEG copy of CIFAR-10 is incomplete or corrupt: {'; '.join(problems)}.", fix)
    current = srcdir
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".cifar10-jpg.", suffix=".partial", dir=root))
        try:
            for part in ("test", "train"):
                current = srcdir / f"cifar10-jpg-{part}.tar.gz"
                with tarfile.open(current) as tar:
                    tar.extractall(tmp, filter="data")
            current = srcdir / "test_order.csv"
            shutil.copyfile(current, tmp / "test_order.csv")
            current = dest
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DataNotFoundError(f"staging the JPEG copy of CIFAR-10 failed at {current}: {err}.", fix) from None
    return dest


class Cifar10Jpeg(torch.utils.data.Dataset):
    """CIFAR-10 stored as JPEG (quality 75), in the original test order.

    ``variant`` is ``"jpeg-q75"``: pixels differ from the exact set by about
    6/255 on average, so accuracies are about 1 point off. A missing, truncated or
    undecodable JPEG is a :class:`DataNotFoundError` naming the file.
    """
    variant = "jpeg-q75"

    def __init__(self, root: Path, train: bool, transform=None):
        self.root, self.transform = Path(root), transform
        self.fix = [f"delete {self.root} so that it is staged again from ADVLAB_DATASETS/cifar10-jpg",
                    "use advlab.data.subset('cifar10') for the bundled 1,000 test images"]
        names = CLASSES["cifar10"]
        if train:
            per = _CIFAR_JPG_PER_CLASS["train"]
            self.items = [(self.root / "train" / c / f"{i:04d}.jpg", k)
                          for k, c in enumerate(names) for i in range(per)]
        else:
            csv_path = self.root / "test_order.csv"
            try:
                with open(csv_path, newline="") as fh:
                    rows = sorted(csv.DictReader(fh), key=lambda r: int(r["test_index"]))
                self.items = [(self.root / r["path"], int(r["label"])) for r in rows]
            except (OSError, KeyError, ValueError, TypeError, csv.Error) as err:
                raise DataNotFoundError(f"{csv_path} cannot be read as the test order "
                                        f"(test_index,label,class,path): {err!r}.", self.fix) from None
            want = _CIFAR_JPG_PER_CLASS["test"] * len(names)
            if len(self.items) != want:
                raise DataNotFoundError(f"{csv_path} lists {len(self.items)} test images, expected {want}.", self.fix)
        missing = [str(p) for p, _ in self.items if not p.is_file()]
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise DataNotFoundError(f"the JPEG copy of CIFAR-10 in {self.root} is incomplete: missing "
                                    f"{', '.join(missing[:3])}{more}.", self.fix)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        from PIL import Image
        path, label = self.items[i]
        try:
            with Image.open(path) as im:
                img = im.convert("RGB")
        except (OSError, ValueError, SyntaxError) as err:  # PIL: truncated, unidentified, or bad header
            raise DataNotFoundError(f"{path} cannot be decoded as a JPEG: {err}.", self.fix) from None
        return (self.transform(img) if self.transform else img), label


def load(name: str, split: str = "test", download: bool = False):
    """A torchvision-style dataset returning (image tensor in [0, 1], label).

    The returned object has a ``variant`` attribute: ``"exact"`` for the
    original files, ``"jpeg-q75"`` for the JPEG copy of CIFAR-10. Only
    ``download=True`` lets torchvision use the network; otherwise a missing,
    incomplete or corrupt copy is a :class:`DataNotFoundError` naming the files,
    what they should be (size, checksum) and where to put them.
    """
    import torchvision
    from torchvision.transforms import ToTensor

    checks.choice(name, "dataset", DATASETS)
    checks.choice(split, "split", SPLITS)
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    root = data_root()
    train = split == "train"
    src = offline_copies()
    looked = [f"{root} (ADVLAB_DATA)", f"{src} (ADVLAB_DATASETS)" if src is not None else "ADVLAB_DATASETS (not set)"]
    try:
        if name in _TV_FOLDER:
            _prepare_idx(name, root, download, looked)
            ds = _tv_idx_class(name)(str(root), train=train, download=download, transform=ToTensor())
            ds.variant = "exact"
            return ds
        exact = root / torchvision.datasets.CIFAR10.base_folder
        if exact.is_dir() or download:
            if not download:
                _check_cifar_exact(root)
            ds = torchvision.datasets.CIFAR10(str(root), train=train, download=download, transform=ToTensor())
            ds.variant = "exact"
            return ds
        jpg = _stage_cifar_jpg(root)
        if jpg is None:
            raise _not_found(name, looked)
        return Cifar10Jpeg(jpg, train=train, transform=ToTensor())
    except OSError as err:  # a data folder that is a file, or unreadable / not writable
        where = _offender(Path(err.filename)) if err.filename else root
        raise DataNotFoundError(f"dataset {name!r}: cannot use {where}: {err.strerror or err}.",
                                [f"make {where} a folder you can read and write",
                                 "set ADVLAB_DATA to another folder"]) from None


def _offender(path: Path) -> Path:
    """The first part of ``path`` that exists but is not a folder (a file where a folder is
    expected), else ``path``."""
    for part in reversed([path, *path.parents][1:]):
        if part.exists() and not part.is_dir():
            return part
    return path


def _read_cache(cache: Path, name: str, n: int) -> dict | None:
    """The cached uint8 tensors, or None (with a warning naming the file) when the cache is
    unreadable or does not hold ``n`` images of ``name``'s shape."""
    try:
        blob = torch.load(cache, weights_only=True)
        x, y = blob["x"], blob["y"]
        ok = (isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and tuple(x.shape[1:]) == SHAPES[name]
              and isinstance(y, torch.Tensor) and y.shape == (len(x),) and len(x) == n)
        why = "" if ok else f"it does not hold {n} uint8 images of shape {SHAPES[name]} with their labels"
    except Exception as err:  # noqa: BLE001 - torch.load fails in many ways on a damaged file
        why = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    if not why:
        return blob
    warnings.warn(f"the cache file {cache} is damaged ({why}); rebuilding it from the dataset's files",
                  RuntimeWarning, stacklevel=3)
    return None


def tensors(name: str, split: str = "test", download: bool = False) -> TensorSet:
    """The whole split as one :class:`TensorSet`, cached as uint8 under the data root.

    A damaged cache file is rebuilt from the (just checked) dataset files, with a warning
    naming it; the cache is written to a temporary file and renamed, so it is never half-written.
    """
    ds = load(name, split, download)
    cache = data_root() / "advlab-cache" / f"{name}-{split}-{ds.variant}.pt"
    blob = _read_cache(cache, name, len(ds)) if cache.is_file() else None
    if blob is None:
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
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            _atomic(cache, lambda tmp: torch.save(blob, tmp))
        except OSError as err:
            raise DataNotFoundError(f"cannot write the cache file {cache}: {err.strerror or err}.",
                                    [f"make {cache.parent} a folder you can write", "set ADVLAB_DATA to another folder"]
                                    ) from None
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


def stratified_indices(labels, per_class: int, seed: int = 0, classes: int | None = None) -> torch.Tensor:
    """Indices of a seeded, class-stratified random sample: ``per_class`` of each class, class by
    class (the studies' samples, the stylised set). Each class's images are permuted with one
    generator, so a larger ``per_class`` extends a smaller sample (its first ``per_class`` of each
    class are the same)."""
    labels = torch.as_tensor(labels)
    classes = int(labels.max()) + 1 if classes is None else classes
    smallest = min(int((labels == c).sum()) for c in range(classes))
    per_class = checks.number(per_class, "per_class", 1, smallest, integer=True)
    g = torch.Generator().manual_seed(checks.seed(seed))
    picks = []
    for c in range(classes):
        members = (labels == c).nonzero().flatten()
        picks.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(picks)


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
