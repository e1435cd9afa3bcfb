"""Offline and fault behaviour: with every socket connection and DNS lookup blocked, each public
entry point runs (or fails with a ``ValueError`` naming the file and the fix) without trying the
network; missing, partial and corrupt offline copies, damaged caches, unreadable data folders and
manifest faults are errors that say which file and what to do.

The datasets here are fakes built in ``tmp_path`` (tiny idx ``.gz`` files, tiny JPEG archives);
where a fake must pass a checksum check, the test computes the fake's checksum itself and puts it
in the expected-files table, so the real ``../shared/datasets`` is never needed.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import struct
import tarfile
import urllib.request

import numpy as np
import pytest
import torch
import torchvision

import advlab as al
from advlab.data import DataNotFoundError
from advlab.zoo import store
from advlab.zoo.__main__ import main


class NetworkBlocked(Exception):  # not an OSError: nothing on the way can swallow it as a download failure
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path_factory):
    """Every connection or DNS lookup raises and is recorded; a test fails if any was attempted."""
    attempts = []

    def blocked(what):
        def fn(*args, **kwargs):
            attempts.append((what, args[1:2] if what in ("socket.connect", "socket.connect_ex", "urllib open") else args[:1]))
            raise NetworkBlocked(f"{what} attempted with {args!r}")
        return fn

    monkeypatch.setattr(socket.socket, "connect", blocked("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", blocked("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", blocked("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", blocked("socket.getaddrinfo"))
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", blocked("urllib open"))
    # nothing to fall back on: an empty data root and no offline copies unless a test sets them
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path_factory.mktemp("empty-root")))
    monkeypatch.delenv("ADVLAB_DATASETS", raising=False)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


def test_the_fixture_blocks_torchvision_downloads(no_network, tmp_path, monkeypatch):
    """The route the old code took (torchvision's download) is caught and recorded by the fixture."""
    with pytest.raises(NetworkBlocked):
        urllib.request.urlopen("http://example.com")
    with pytest.raises(NetworkBlocked):
        torchvision.datasets.MNIST(str(tmp_path), download=True)
    assert no_network and any(what == "urllib open" for what, _ in no_network)
    no_network.clear()


# ---- fake datasets -------------------------------------------------------------------------------

def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


FAKE = {"train": (np.arange(20 * 28 * 28).reshape(20, 28, 28) % 251, np.arange(20) % 10),
        "test": ((np.arange(10 * 28 * 28).reshape(10, 28, 28) * 7) % 253, (np.arange(10) * 3) % 10)}
IDX_FILES = {"train-images-idx3-ubyte.gz": ("train", 0), "train-labels-idx1-ubyte.gz": ("train", 1),
             "t10k-images-idx3-ubyte.gz": ("test", 0), "t10k-labels-idx1-ubyte.gz": ("test", 1)}


def _write_fake_mnist(folder, only=None):
    folder.mkdir(parents=True, exist_ok=True)
    for fn, (split, k) in IDX_FILES.items():
        if only is None or split == only:
            (folder / fn).write_bytes(gzip.compress(_idx(np.asarray(FAKE[split][k])), mtime=0))
    return folder


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Offline copies holding fake MNIST files, which torchvision's MD5 list and advlab's sizes expect."""
    src = _write_fake_mnist(tmp_path / "datasets" / "mnist")
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources",
                        [(fn, hashlib.md5((src / fn).read_bytes()).hexdigest()) for fn in IDX_FILES])
    monkeypatch.setitem(al.data._IDX_BYTES, "mnist", {fn: (src / fn).stat().st_size for fn in IDX_FILES})
    monkeypatch.setenv("ADVLAB_DATASETS", str(tmp_path / "datasets"))
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "root"))
    return tmp_path


def _expected(split):
    x, y = FAKE[split]
    return torch.as_tensor(x, dtype=torch.float32)[:, None] / 255, torch.as_tensor(y)


def _jpeg(colour) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """Offline JPEG copy of CIFAR-10 with one image per class and split; the test's own checksums."""
    src = tmp_path / "datasets" / "cifar10-jpg"
    src.mkdir(parents=True)
    classes = al.data.CLASSES["cifar10"]
    for part in ("train", "test"):
        _tar(src / f"cifar10-jpg-{part}.tar.gz",
             {f"{part}/{c}/0000.jpg": _jpeg((25 * k, 0, 255 - 25 * k)) for k, c in enumerate(classes)})
    rows = ["test_index,label,class,path"] + [f"{i},{k},{c},test/{c}/0000.jpg"
                                               for i, (k, c) in enumerate(reversed(list(enumerate(classes))))]
    (src / "test_order.csv").write_text("\n".join(rows) + "\n")
    _expect_files(monkeypatch, src)
    monkeypatch.setitem(al.data._CIFAR_JPG_PER_CLASS, "train", 1)
    monkeypatch.setitem(al.data._CIFAR_JPG_PER_CLASS, "test", 1)
    monkeypatch.setenv("ADVLAB_DATASETS", str(tmp_path / "datasets"))
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "root"))
    return tmp_path


def _expect_files(monkeypatch, src):
    for fn in al.data._CIFAR_JPG:
        monkeypatch.setitem(al.data._CIFAR_JPG, fn, ((src / fn).stat().st_size,
                                                     hashlib.sha256((src / fn).read_bytes()).hexdigest()))


# ---- MNIST-like sets: missing, partial, corrupt ----------------------------------------------------

@pytest.mark.parametrize("fn", [al.data.load, al.data.tensors])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_nothing_anywhere_says_where_it_looked(fn, name, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError, match="not found") as err:
        fn(name, "test")
    msg = str(err.value)
    assert str(tmp_path / "empty") in msg and "ADVLAB_DATASETS" in msg and "download=True" in msg
    assert not (tmp_path / "empty").exists()  # nothing half-made


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_partial_offline_copy_names_the_missing_files_and_where_to_put_them(name, tmp_path, monkeypatch):
    src = _write_fake_mnist(tmp_path / "datasets" / name, only="test")
    monkeypatch.setenv("ADVLAB_DATASETS", str(tmp_path / "datasets"))
    with pytest.raises(DataNotFoundError) as err:
        al.data.load(name, "test")
    msg = str(err.value)
    tv = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    for fn, md5 in tv.resources:  # torchvision's own list: every file is named with its checksum
        assert fn in msg and md5 in msg
    train_md5 = dict(tv.resources)["train-images-idx3-ubyte.gz"]
    real_bytes = {"mnist": "9,912,422", "fashion-mnist": "26,421,880"}[name]
    assert f"{src / 'train-images-idx3-ubyte.gz'} is missing (expected {real_bytes} bytes, md5 {train_md5})" in msg
    # the test files are fakes, so their checksums differ: named as corrupt, with what was expected
    assert f"{src / 't10k-images-idx3-ubyte.gz'} has " in msg
    assert f"put the original files in {src}" in msg and "download=True" in msg


def test_garbage_gz_files_are_named_with_their_expected_size_and_md5(tmp_path, monkeypatch):
    src = tmp_path / "datasets" / "mnist"
    src.mkdir(parents=True)
    for fn, _ in torchvision.datasets.MNIST.resources:
        (src / fn).write_bytes(b"not a gzip file at all")
    monkeypatch.setenv("ADVLAB_DATASETS", str(tmp_path / "datasets"))
    with pytest.raises(DataNotFoundError) as err:
        al.data.tensors("mnist", "test")
    msg = str(err.value)
    assert f"{src / 't10k-labels-idx1-ubyte.gz'} has 22 bytes (expected 4,542 bytes, md5 " in msg
    assert msg.count("has 22 bytes") == 4


def test_gz_with_the_right_size_but_wrong_md5(fake_mnist, monkeypatch):
    src = fake_mnist / "datasets" / "mnist"
    f = src / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(f.read_bytes())
    data[-5] ^= 0xFF  # same size, different bytes
    f.write_bytes(bytes(data))
    with pytest.raises(DataNotFoundError, match=f"{f} has md5 [0-9a-f]{{32}} \\(expected {len(data)} bytes"):
        al.data.load("mnist", "test")


def test_fake_copy_is_staged_and_read_exactly(fake_mnist):
    for split in ("train", "test"):
        ts = al.data.tensors("mnist", split)
        x, y = _expected(split)
        assert torch.equal(ts.x, x) and torch.equal(ts.y, y) and ts.variant == "exact"
    raw = fake_mnist / "root" / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(list(IDX_FILES) + [f[:-3] for f in IDX_FILES])


def test_corrupt_gz_in_the_data_root_is_replaced_from_the_offline_copy(fake_mnist):
    al.data.load("mnist", "test")
    raw = fake_mnist / "root" / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").unlink()
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"junk")
    assert torch.equal(al.data.tensors("mnist", "test").x, _expected("test")[0])


def test_truncated_extracted_file_is_re_extracted_or_named(fake_mnist, monkeypatch):
    al.data.load("mnist", "test")
    raw = fake_mnist / "root" / "MNIST" / "raw"
    ext = raw / "t10k-images-idx3-ubyte"
    ext.write_bytes(ext.read_bytes()[:500])
    assert torch.equal(al.data.load("mnist", "test").data, torch.as_tensor(FAKE["test"][0], dtype=torch.uint8))
    # with no .gz to rebuild it from, the truncated file is named
    ext.write_bytes(ext.read_bytes()[:500])
    (raw / "t10k-images-idx3-ubyte.gz").unlink()
    monkeypatch.delenv("ADVLAB_DATASETS")
    with pytest.raises(DataNotFoundError) as err:
        al.data.load("mnist", "test")
    msg = str(err.value)
    assert f"{ext} has 500 bytes, its header says {16 + 10 * 28 * 28:,}" in msg
    assert f"{raw / 't10k-images-idx3-ubyte.gz'} is missing" in msg and f"or in {raw}" in msg


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong contents"])
def test_damaged_cache_is_rebuilt_with_a_warning_naming_it(fake_mnist, damage):
    al.data.tensors("mnist", "test")
    cache = fake_mnist / "root" / "advlab-cache" / "mnist-test-exact.pt"
    if damage == "truncated":
        cache.write_bytes(cache.read_bytes()[:300])
    elif damage == "garbage":
        cache.write_bytes(b"\x00" * 64)
    else:
        torch.save({"x": torch.zeros(3, 1, 28, 28, dtype=torch.uint8), "y": torch.zeros(3)}, cache)
    with pytest.warns(RuntimeWarning, match=f"cache file {cache} is damaged .*rebuilding it"):
        ts = al.data.tensors("mnist", "test")
    assert torch.equal(ts.x, _expected("test")[0]) and torch.equal(ts.y, _expected("test")[1])
    assert torch.load(cache, weights_only=True)["x"].shape == (10, 1, 28, 28)  # the rebuilt cache is whole
    assert not list(cache.parent.glob(".*partial"))


def test_data_root_that_is_a_file(fake_mnist, monkeypatch):
    root = fake_mnist / "a-file"
    root.write_text("x")
    monkeypatch.setenv("ADVLAB_DATA", str(root))
    with pytest.raises(DataNotFoundError, match=f"cannot use {root}.*Fix: make {root} a folder you can read and "
                                                "write; or set ADVLAB_DATA to another folder"):
        al.data.load("mnist", "test")


def test_offline_copy_that_is_a_file_where_a_folder_is_expected(tmp_path, monkeypatch):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist").write_text("x")
    monkeypatch.setenv("ADVLAB_DATASETS", str(tmp_path / "datasets"))
    with pytest.raises(DataNotFoundError, match=f"{tmp_path / 'datasets' / 'mnist'} .* is not a folder.*Fix: make it "
                                                "a folder holding the original idx .gz files"):
        al.data.load("mnist", "test")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads a chmod-000 folder anyway; the file-where-a-folder-is case covers it")
def test_unreadable_offline_folder(fake_mnist):
    src = fake_mnist / "datasets" / "mnist"
    src.chmod(0)
    try:
        with pytest.raises(DataNotFoundError, match=f"{src}.*(Permission denied|cannot be read)"):
            al.data.load("mnist", "test")
    finally:
        src.chmod(0o755)


def test_cache_folder_that_is_a_file(fake_mnist):
    (fake_mnist / "root").mkdir()
    (fake_mnist / "root" / "advlab-cache").write_text("x")
    with pytest.raises(DataNotFoundError, match="cannot write the cache file .*mnist-test-exact.pt.*Fix: make "):
        al.data.tensors("mnist", "test")


def test_download_must_be_a_bool():
    with pytest.raises(ValueError, match="download must be True or False, got 'yes'"):
        al.data.load("mnist", download="yes")


# ---- CIFAR-10: the JPEG copy and the exact batches ---------------------------------------------------

def test_fake_jpeg_copy_is_staged_whole(fake_cifar):
    ds = al.data.load("cifar10", "test")
    assert ds.variant == "jpeg-q75" and len(ds) == 10
    assert [ds[i][1] for i in range(10)] == list(range(9, -1, -1))  # the csv's order, not the folders'
    ts = al.data.tensors("cifar10", "train")
    assert ts.x.shape == (10, 3, 32, 32) and ts.y.tolist() == list(range(10))
    assert abs(float(ts.x[3, 0].mean()) - 75 / 255) < 3 / 255  # class 3 is (75, 0, 180)
    assert sorted(p.name for p in (fake_cifar / "root").iterdir()) == ["advlab-cache", "cifar10-jpg"]


@pytest.mark.parametrize("checksums", ["real", "matching the garbage"])
def test_garbage_cifar_archive_is_named_and_leaves_no_folder(fake_cifar, monkeypatch, checksums):
    src = fake_cifar / "datasets" / "cifar10-jpg"
    bad = src / "cifar10-jpg-train.tar.gz"
    bad.write_bytes(b"this is no tar archive" * 10)
    if checksums == "matching the garbage":  # gets past the checksum: tarfile itself fails
        _expect_files(monkeypatch, src)
    with pytest.raises(DataNotFoundError) as err:
        al.data.load("cifar10", "train")
    msg = str(err.value)
    assert str(bad) in msg and f"put the original files of the JPEG copy in {src}" in msg
    if checksums == "real":
        assert f"{bad} has 220 bytes (expected" in msg and "sha256" in msg
    root = fake_cifar / "root"
    assert not root.exists() or list(root.iterdir()) == []  # no half-made cifar10-jpg, no temp folder


def test_missing_and_truncated_jpegs_are_named(fake_cifar):
    al.data.load("cifar10", "test")
    folder = fake_cifar / "root" / "cifar10-jpg"
    jpg = folder / "test" / "cat" / "0000.jpg"
    jpg.write_bytes(jpg.read_bytes()[:200])
    ds = al.data.load("cifar10", "test")
    i = [p for p, _ in ds.items].index(jpg)
    with pytest.raises(DataNotFoundError, match=f"{jpg} cannot be decoded as a JPEG.*Fix: delete {folder}"):
        ds[i]
    with pytest.raises(DataNotFoundError, match=f"{jpg} cannot be decoded"):
        al.data.tensors("cifar10", "test")
    jpg.unlink()
    with pytest.raises(DataNotFoundError, match=f"{folder} is incomplete: missing {jpg}"):
        al.data.load("cifar10", "test")
    (folder / "train" / "dog" / "0000.jpg").unlink()
    with pytest.raises(DataNotFoundError, match="missing .*train/dog/0000.jpg"):
        al.data.load("cifar10", "train")


def test_broken_test_order_csv_is_named(fake_cifar):
    al.data.load("cifar10", "test")
    csv_path = fake_cifar / "root" / "cifar10-jpg" / "test_order.csv"
    csv_path.write_text("index,label\n0,3\n")
    with pytest.raises(DataNotFoundError, match=f"{csv_path} cannot be read as the test order"):
        al.data.load("cifar10", "test")


def test_corrupt_exact_cifar_batches_are_named(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"junk")
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as err:
        al.data.load("cifar10", "test")
    msg = str(err.value)
    md5 = dict(torchvision.datasets.CIFAR10.test_list)["test_batch"]
    assert f"{folder / 'test_batch'} has md5 " in msg and f"(expected md5 {md5})" in msg
    assert f"{folder / 'data_batch_1'} is missing" in msg and f"delete {folder}" in msg


# ---- the zoo's manifest ----------------------------------------------------------------------------

@pytest.fixture
def manifest_copy(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    shutil.copy(store.ROOT / "manifest.json", path)
    monkeypatch.setattr(store, "MANIFEST", path)
    return path


def _edit(path, name, drop=(), **changes):
    m = json.loads(path.read_text())
    m[name].update(changes)
    for k in drop:
        del m[name][k]
    path.write_text(json.dumps(m))


MANIFEST_FAULTS = {
    "missing file": (lambda p: p.unlink(), "manifest {p} is missing"),
    "invalid JSON": (lambda p: p.write_text('{"mnist_cnn": {'), "manifest {p} is not valid JSON"),
    "not an object": (lambda p: p.write_text("[1, 2]"), "manifest {p} must be a JSON object"),
    "entry without sha256": (lambda p: _edit(p, "mnist_cnn", drop=["sha256"]),
                             "entry 'mnist_cnn' in {p}: 'sha256' must be its sha256, 64 hex digits, got nothing"),
    "sha256 not hex": (lambda p: _edit(p, "mnist_cnn", sha256="xyz"), "'sha256' must be 64 lowercase hex"),
    "entry without file": (lambda p: _edit(p, "mnist_cnn", drop=["file"]), "'file' must be the weight file's name"),
    "unknown kind": (lambda p: _edit(p, "mnist_cnn", kind="detector"),
                     "kind must be one of classifier, explainer, generator, got 'detector' \\(in {p}\\)"),
    "unknown dataset": (lambda p: _edit(p, "mnist_cnn", dataset="imagenet"), "'dataset' must be one of"),
}


@pytest.mark.parametrize("fault", sorted(MANIFEST_FAULTS))
def test_manifest_faults_name_the_file_and_the_fix(fault, manifest_copy, capsys):
    damage, match = MANIFEST_FAULTS[fault]
    damage(manifest_copy)
    match = match.format(p=manifest_copy)
    fix = "Fix: restore the manifest from git .*python -m advlab.zoo train NAME"
    with pytest.raises(al.zoo.ManifestError, match=f"{match}.*{fix}"):
        al.zoo.load("mnist_cnn")
    for argv in (["verify", "--subset", "mnist_cnn"], ["list"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(manifest_copy) in err and "Traceback" not in err


def test_a_missing_manifest_is_not_an_empty_zoo(manifest_copy):
    manifest_copy.unlink()
    with pytest.raises(ValueError, match="is missing") as err:
        al.zoo.names()
    assert "accepted values" not in str(err.value)


# ---- the CLI ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, match", [
    (["train", "NO_SUCH"], "unknown model name 'NO_SUCH'; accepted values: .*mnist_cnn"),
    (["train", "mnist_cnn", "--device", "banana"], "--device must be a device such as 'cpu'.*got 'banana'"),
    (["train", "mnist_cnn", "--threads", "-1"], "--threads must be an integer in \\[1, \\d+\\], got '-1'"),
    (["train", "mnist_cnn", "--threads", "0"], "--threads must be an integer in \\[1, \\d+\\], got '0'"),
    (["train", "mnist_cnn", "--threads", "two"], "--threads must be an integer .*got 'two'"),
    (["verify", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["verify", "NO_SUCH"], "unknown model name 'NO_SUCH'"),
    (["fly"], "invalid choice: 'fly'"),
    # no data and no offline copies: training says where data comes from, with no flag the CLI lacks
    (["train", "mnist_cnn", "--device", "cpu"], "dataset 'mnist' not found.*ADVLAB_DATASETS"),
])
def test_cli_errors_are_one_line_and_nonzero(argv, match, capsys):
    import re
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and re.search(match, err), err
    assert "download=True on a machine" not in err or "advlab.data.load(NAME, download=True)" in err


def test_cli_verify_without_data_reports_every_sha256_first(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "weights"
    shutil.copytree(store.WEIGHTS, weights)
    monkeypatch.setattr(store, "WEIGHTS", weights)
    with open(weights / "cifar_gap_cnn.pt", "r+b") as fh:  # a corrupt weight file does not stop the report
        fh.seek(500)
        fh.write(b"\x00\x01\x02")
    names = ["cifar_gap_cnn", "mnist_cnn", "mnist_cnn_at"]
    assert main(["verify", *names]) == 2
    out, err = capsys.readouterr()
    table = out.split("accuracy on")[0]
    assert "cifar_gap_cnn" in table and "FAILED" in table and "corrupt" in table
    assert table.count(" ok ") == 2 and "mnist_cnn_at" in table
    assert "mnist test set not available" in out.split("accuracy on")[1]
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "accuracy of mnist_cnn, mnist_cnn_at not measured: dataset 'mnist' not found" in err
    assert "python -m advlab.zoo verify --subset" in err and "ADVLAB_DATASETS" in err


def test_cli_list_and_verify_subset_offline(capsys):
    assert main(["list"]) == 0
    assert "mnist_cnn" in capsys.readouterr().out
    assert main(["verify", "--subset", "mnist_cnn"]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok ") == 1 and "mnist test (1000 images, exact)" in out


# ---- every other public entry point, network blocked -----------------------------------------------

@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_subset_offline(name):
    assert len(al.data.subset(name, n=3)) == 3


def test_zoo_load_offline():
    m = al.zoo.load("mnist_cnn")
    x = al.data.subset("mnist", n=4).x
    with torch.no_grad():
        assert m(x).shape == (4, 10)
    with pytest.raises(ValueError, match="device"):
        al.zoo.load("mnist_cnn", device="banana")


@pytest.mark.parametrize("name", sorted(al.attacks.REGISTRY))
def test_attack_offline(name, tiny_gap, tiny_batch):
    x, y = tiny_batch
    x_adv = al.attacks.make(name, tiny_gap, eps=0.1, **al.attacks.steps_for(name, 2))(x, y)
    assert x_adv.shape == x.shape and (x_adv - x).abs().max() <= 0.1 + 1e-6


@pytest.mark.parametrize("name", sorted(al.interpret.REGISTRY))
def test_interpreter_offline(name, model_for, tiny_batch):
    x, y = tiny_batch
    maps = al.interpret.make(name, model_for(name))(x, y)
    assert maps.shape[0] == len(x) and torch.isfinite(maps).all()


def test_metric_offline(tiny_gap, tiny_batch):
    x, y = tiny_batch
    assert 0.0 <= al.metrics.accuracy(tiny_gap, x, y) <= 1.0


@pytest.mark.parametrize("name", sorted(al.transforms.TRANSFORMS))
def test_transform_offline(name):
    x = al.data.subset("cifar10", n=2).x
    level = al.transforms.TRANSFORMS[name][2][1]
    assert al.transforms.apply(name, x, level).shape == x.shape


@pytest.mark.parametrize("name", sorted(al.widgets.PANELS))
def test_panel_offline(name):
    panel = al.widgets.PANELS[name].example()
    assert panel.update() is True
