"""``advlab.data.load_image`` on what users give it: float and 16-bit pictures kept (not blackened or
whitened), and empty, over-size, bomb, truncated and garbage inputs refused with a ``ValueError``
that says which. Every picture is built in memory."""
import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

import advlab as al
from advlab.data import MAX_IMAGE_PIXELS, load_image


def _save(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_float_arrays_in_0_1_are_kept_as_such():
    a = np.full((20, 30, 3), 0.5004, np.float32)          # between two 8-bit levels
    t = load_image(a, size=16)
    assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32
    assert torch.allclose(t, torch.full_like(t, 0.5004), atol=1e-6)   # was all black (0.0) before
    yy, xx = np.mgrid[0:24, 0:30]
    u8 = np.stack([xx * 8, yy * 10, (xx + yy) * 4], axis=2).astype(np.uint8)   # smooth ramps
    as_float = load_image(u8.astype(np.float64) / 255, size=16)
    # the same picture (the 8-bit path rounds between its horizontal and vertical passes)
    assert (as_float - load_image(u8, size=16)).abs().max() <= 1.5 / 255
    grey = load_image(np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20), size=8)
    assert grey.shape == (1, 3, 8, 8) and torch.equal(grey[0, 0], grey[0, 2])
    rgba = np.concatenate([np.full((10, 10, 3), 0.25), np.zeros((10, 10, 1))], axis=2)
    assert torch.allclose(load_image(rgba, size=8), torch.tensor(0.25), atol=1e-6)  # alpha dropped
    rgb = np.zeros((10, 10, 3), np.float32)
    rgb[..., 1] = 1.0
    assert load_image(rgb, size=8, channels=1).flatten()[0].item() == pytest.approx(0.587, abs=1e-5)


@pytest.mark.parametrize("values,words", [
    (np.full((8, 8, 3), 100.0), "values in [100, 100]; divide by 255"),
    (np.full((8, 8, 3), -0.5), "values in [-0.5, -0.5]"),
    (np.full((8, 8), np.nan), "NaN or infinite"),
    (np.array([[0.5, np.inf]] * 8), "NaN or infinite"),
])
def test_float_arrays_outside_0_1_are_refused(values, words):
    with pytest.raises(ValueError, match="image array of floats must hold values in \\[0, 1\\]") as err:
        load_image(values)
    assert words in str(err.value)


def test_16_bit_pictures_are_scaled_not_clipped():
    a = np.array([[30000, 30100]] * 20, np.uint16).repeat(10, axis=1)    # 20×20, two 16-bit levels
    png = _save(Image.fromarray(a))
    assert Image.open(io.BytesIO(png)).mode == "I;16"
    t = load_image(png, size=8, channels=1)
    assert t.max() < 0.47 and t.min() > 0.45                            # was 1.0 (white) before
    assert t[0, 0, 4, 0].item() == pytest.approx(30000 / 65535, abs=2e-5)
    assert t[0, 0, 4, -1].item() == pytest.approx(30100 / 65535, abs=2e-5)  # finer than 8 bits
    i32 = Image.fromarray(a.astype(np.int32), mode="I")
    assert torch.allclose(load_image(i32, size=8, channels=1), t, atol=1e-6)
    assert torch.allclose(load_image(a, size=8, channels=1), t, atol=1e-6)       # uint16 arrays
    assert load_image(png, size=8).shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="outside \\[0, 65535\\]"):
        load_image(Image.fromarray(np.full((8, 8), 70000, np.int32), mode="I"))


@pytest.mark.parametrize("source,words", [
    (np.zeros((0, 0, 3), np.uint8), "image is empty (0×0 pixels)"),
    (np.zeros((0, 5), np.float32), "image is empty (5×0 pixels)"),
    (Image.new("RGB", (0, 0)), "image is empty (0×0 pixels)"),
    (b"", "image is an empty file (0 bytes)"),
])
def test_empty_pictures_are_refused(source, words):
    with pytest.raises(ValueError) as err:
        load_image(source)
    assert words in str(err.value)


@pytest.mark.parametrize("array,words", [
    (np.zeros((8, 8, 3), np.int64), "got dtype int64; convert with .astype(np.uint8)"),
    (np.zeros((8, 8), bool), "got dtype bool"),
    (np.zeros((3, 8, 8), np.uint8), "channels last), got shape (3, 8, 8)"),
    (np.zeros((8,), np.uint8), "got shape (8,)"),
])
def test_arrays_of_other_kinds_are_refused(array, words):
    with pytest.raises(ValueError, match="image array must") as err:
        load_image(array)
    assert words in str(err.value)


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = _save(Image.new("1", (20000, 20000)))               # 48 kB, 400 Mpixels claimed
    assert len(bomb) < 100_000
    start = time.perf_counter()
    with pytest.raises(ValueError, match="image is too large to open safely") as err:
        load_image(bomb)
    assert time.perf_counter() - start < 0.5 and f"{MAX_IMAGE_PIXELS:,}" in str(err.value)


def test_pils_own_bomb_refusal_is_a_value_error_too(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)           # PIL raises at open from 2×100 pixels
    with pytest.raises(ValueError, match="too large to open safely: PIL refused it before decoding"):
        load_image(_save(Image.new("RGB", (20, 20))))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)           # PIL only warns from 300 pixels
    with pytest.raises(ValueError, match="too large to open safely"):
        load_image(_save(Image.new("RGB", (20, 20))))


def test_the_size_limit_is_4096_by_4096_pixels():
    assert MAX_IMAGE_PIXELS == 4096 * 4096 and "4096×4096" in load_image.__doc__
    over = _save(Image.new("1", (4097, 4096)))
    start = time.perf_counter()
    with pytest.raises(ValueError) as err:
        load_image(over)
    assert time.perf_counter() - start < 0.2                          # refused before decoding
    assert str(err.value) == ("image is too large to open safely: 4097×4096 = 16,781,312 pixels, "
                              "the limit is 16,777,216 (4096×4096)")
    with pytest.raises(ValueError, match="4097×4096"):
        load_image(np.zeros((4096, 4097), np.uint8))                  # arrays follow the same rule
    assert load_image(_save(Image.new("1", (4096, 4096), 1)), size=8).min() == 1.0   # at the limit: loads


def test_large_jpegs_are_drafted_down_and_load():
    jpeg = _save(Image.new("RGB", (4200, 4300), (200, 30, 30)), "JPEG", quality=70)  # 18 Mpixels > limit
    start = time.perf_counter()
    t = load_image(jpeg, size=32)
    assert time.perf_counter() - start < 1.0 and t.shape == (1, 3, 32, 32)
    assert torch.allclose(t[0, :, 16, 16], torch.tensor([200, 30, 30]) / 255, atol=4 / 255)


def test_truncated_and_garbage_files_are_refused_with_what_went_wrong(tmp_path):
    good = al.widgets.examples.png_bytes()
    with pytest.raises(ValueError, match="could not be read as a picture: OSError: image file is truncated"):
        load_image(good[: len(good) // 2])
    with pytest.raises(ValueError, match="could not be read as a picture: not a format PIL knows .*b'name,val'"):
        load_image(b"name,value\nx,1\n")
    with pytest.raises(ValueError, match="could not be read as a picture"):
        load_image(np.random.default_rng(0).bytes(2000))
    jpeg = _save(Image.new("RGB", (64, 64), (1, 2, 3)), "JPEG")
    with pytest.raises(ValueError, match="could not be read as a picture"):
        load_image(jpeg[:300])
    path = tmp_path / "cut.png"
    path.write_bytes(good[:100])
    with pytest.raises(ValueError, match="could not be read as a picture"):
        load_image(path)
    with pytest.raises(ValueError, match="image file not found: .*missing.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="image must be a file path, bytes, a PIL image or an array, got list"):
        load_image([[0, 1]])
