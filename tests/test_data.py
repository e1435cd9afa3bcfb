"""Datasets: bundled subsets, offline copies, and the error when nothing is found."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import advlab as al

SHARED = Path(os.environ.get("ADVLAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


@pytest.mark.parametrize("name,shape", [("mnist", (1, 28, 28)), ("fashion-mnist", (1, 28, 28)),
                                        ("cifar10", (3, 32, 32))])
def test_bundled_subsets(name, shape):
    s = al.data.subset(name)
    assert s.x.shape == (1000, *shape) and s.x.dtype == torch.float32
    assert 0 <= s.x.min() and s.x.max() <= 1 and s.x.max() > 0.9
    assert s.y.dtype == torch.long and set(s.y.tolist()) == set(range(10))
    assert s.variant == ("jpeg-q75" if name == "cifar10" else "exact")
    assert len(s.classes) == 10
    assert len(al.data.subset(name, n=5)) == 5


def test_subset_order_is_the_original_test_order():
    # the first labels of the MNIST and CIFAR-10 test sets are well known
    assert al.data.subset("mnist", 8).y.tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    assert al.data.subset("cifar10", 8).y.tolist() == [3, 8, 8, 0, 6, 6, 1, 6]


def test_bad_names():
    with pytest.raises(ValueError, match="dataset"):
        al.data.subset("imagenet")
    with pytest.raises(ValueError, match="split"):
        al.data.load("mnist", split="validation")
    with pytest.raises(ValueError, match="n"):
        al.data.subset("mnist", n=0)


def test_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("ADVLAB_DATASETS", raising=False)
    with pytest.raises(al.data.DataNotFoundError) as err:
        al.data.load("fashion-mnist")
    msg = str(err.value)
    assert str(tmp_path / "empty") in msg and "ADVLAB_DATASETS" in msg and "download=True" in msg


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs the offline dataset copies (CI has them)")
def test_offline_copies_are_staged_and_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path))
    monkeypatch.setenv("ADVLAB_DATASETS", str(SHARED))
    ts = al.data.tensors("mnist", "test")
    assert ts.x.shape == (10000, 1, 28, 28) and ts.variant == "exact"
    assert torch.equal(ts.x[:1000], al.data.subset("mnist").x)
    assert (tmp_path / "MNIST" / "raw").is_dir()
    ds = al.data.load("cifar10", "test")
    assert ds.variant == "jpeg-q75" and len(ds) == 10000
    img, label = ds[0]
    assert img.shape == (3, 32, 32) and label == 3
    assert torch.allclose(img, al.data.subset("cifar10", 1).x[0], atol=1 / 255)


def test_load_image_from_every_kind_of_source(tmp_path):
    from PIL import Image
    arr = np.zeros((30, 50, 3), dtype=np.uint8)
    arr[:, 10:40] = (0, 255, 0)         # the centred square is green, the sides black
    path = tmp_path / "photo.png"
    Image.fromarray(arr).save(path)
    for src in (path, str(path), path.read_bytes(), Image.fromarray(arr), arr):
        t = al.data.load_image(src, size=16)
        assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32
        assert t[0, 1].min() > 0.95 and t[0, 0].max() < 0.05   # centre crop kept only the green part
    grey = al.data.load_image(arr, size=28, channels=1)
    assert grey.shape == (1, 1, 28, 28)


def test_load_image_refuses_what_is_not_a_picture(tmp_path):
    with pytest.raises(ValueError, match="image could not be read"):
        al.data.load_image(b"plain text")
    with pytest.raises(ValueError, match="image must be"):
        al.data.load_image(42)
    with pytest.raises(ValueError, match="size"):
        al.data.load_image(np.zeros((4, 4, 3), np.uint8), size=0)
