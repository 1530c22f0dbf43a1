"""Real data for fid-sweep: the accepted forms, content hashing, and the feature cache."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics.realdata import (
    cache_path,
    default_cache_dir,
    digits_images,
    load_real,
    real_features,
)


def _images(n=6, h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _write_folder(root, imgs, names, mode="RGB"):
    for img, name in zip(imgs, names, strict=True):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img if mode == "RGB" else img[..., 0], mode).save(p)
    return root


def test_sklearn_digits():
    r = load_real("sklearn-digits")
    x = r.load(0, r.count)
    assert r.kind == "images" and r.count == 1797 and r.shape == (1, 8, 8)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0 and np.allclose(x * 16, np.round(x * 16))
    assert load_real("sklearn-digits").digest == r.digest


def test_digits_images_equal_scikit_learns_loader():
    """Read from sklearn's data file without importing sklearn: the same arrays as load_digits."""
    from sklearn.datasets import load_digits

    images, labels = digits_images()
    ds = load_digits()
    assert np.array_equal(images, ds.images) and images.dtype == ds.images.dtype
    assert np.array_equal(labels, ds.target)


def test_folder_recursive_and_keyed_by_content_not_names(tmp_path):
    imgs = _images()
    a = _write_folder(tmp_path / "a", imgs, [f"img{i}.png" for i in range(6)])
    b = _write_folder(
        tmp_path / "b", imgs[::-1], [f"sub{i % 2}/x{i}.PNG" for i in range(6)]
    )  # renamed, reordered, nested
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    ra, rb = load_real(a), load_real(b)
    assert ra.count == 6 and ra.shape == (3, 5, 7)
    assert ra.digest == rb.digest
    xa, xb = ra.load(0, 6), rb.load(0, 6)
    np.testing.assert_array_equal(xa, xb)  # same order (by content), same values
    np.testing.assert_array_equal(
        np.sort(xa.reshape(6, -1), axis=0),
        np.sort(
            (imgs.transpose(0, 3, 1, 2) / np.float32(255)).reshape(6, -1).astype(np.float32), axis=0
        ),
    )
    # one changed pixel changes the hash
    changed = imgs.copy()
    changed[0, 0, 0, 0] ^= 1
    rc = load_real(_write_folder(tmp_path / "c", changed, [f"img{i}.png" for i in range(6)]))
    assert rc.digest != ra.digest


def test_folder_greyscale_mixed_sizes_and_empty(tmp_path):
    imgs = _images(c=1)
    g = load_real(_write_folder(tmp_path / "g", imgs, [f"{i}.png" for i in range(6)], mode="L"))
    assert g.shape == (1, 5, 7) and g.load(0, 2).shape == (2, 1, 5, 7)
    mixed = _write_folder(tmp_path / "m", _images(n=2), ["a.png", "b.jpg"])
    Image.fromarray(_images(n=1, h=9)[0]).save(mixed / "c.png")
    with pytest.raises(GanAnalyzeError, match=r"c.png: image is 7x9 .* same size"):
        load_real(mixed)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanAnalyzeError, match="needs at least 2 images"):
        load_real(tmp_path / "empty")
    with pytest.raises(GanAnalyzeError, match="not found"):
        load_real(tmp_path / "missing")


def test_arrays_nhwc_nchw_uint8_and_float(tmp_path):
    imgs = _images()
    np.save(tmp_path / "nhwc.npy", imgs)
    np.save(tmp_path / "nchw.npy", imgs.transpose(0, 3, 1, 2).copy())
    np.save(tmp_path / "float.npy", imgs.astype(np.float32) / 255)
    np.savez(tmp_path / "images.npz", images=imgs, labels=np.arange(6))
    want = imgs.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
    for name in ("nhwc.npy", "nchw.npy", "images.npz"):
        r = load_real(tmp_path / name)
        assert r.shape == (3, 5, 7) and r.count == 6
        np.testing.assert_array_equal(r.load(0, 6), want)
    f = load_real(tmp_path / "float.npy")
    np.testing.assert_allclose(f.load(2, 5), want[2:5], atol=1e-7)
    assert f.prep.endswith(":float") and load_real(tmp_path / "nhwc.npy").prep.endswith(":uint8")
    assert load_real(tmp_path / "nhwc.npy").digest != load_real(tmp_path / "nchw.npy").digest
    g = np.random.default_rng(1).integers(0, 256, (4, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "grey.npy", g)
    assert load_real(tmp_path / "grey.npy").load(0, 4).shape == (4, 1, 6, 6)


def test_array_errors(tmp_path):
    np.save(tmp_path / "neg.npy", np.full((3, 4, 4), -0.5, np.float32))
    with pytest.raises(GanAnalyzeError, match=r"neg.npy: float images must lie in \[0, 1\]"):
        load_real(tmp_path / "neg.npy")
    np.save(tmp_path / "shape.npy", np.zeros((3, 5, 5, 5), np.uint8))
    with pytest.raises(GanAnalyzeError, match="shape.npy: image array has shape"):
        load_real(tmp_path / "shape.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((3, 4, 4)), b=np.zeros((3, 4, 4)))
    with pytest.raises(GanAnalyzeError, match="two.npz: holds several arrays"):
        load_real(tmp_path / "two.npz")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(GanAnalyzeError, match="unsupported"):
        load_real(tmp_path / "x.txt")


def test_statistics_npz(tmp_path):
    mu, sigma = np.arange(3.0), np.eye(3)
    np.savez(tmp_path / "stats.npz", mu=mu, sigma=sigma)
    r = load_real(tmp_path / "stats.npz")
    assert r.kind == "stats" and np.array_equal(r.mu, mu) and np.array_equal(r.sigma, sigma)
    rf = real_features(r, SimpleNamespace(name="x", key="k", dims=3), lambda load, n: None)
    assert rf.features is None and np.array_equal(rf.mu, mu)
    with pytest.raises(GanAnalyzeError, match="statistics have 3 dims but the 'x' features have 5"):
        real_features(r, SimpleNamespace(name="x", key="k", dims=5), lambda load, n: None)
    with pytest.raises(GanAnalyzeError, match="holds FID statistics only"):
        r.load(0, 1)


def test_feature_cache(tmp_path, monkeypatch):
    np.save(tmp_path / "real.npy", _images(n=20))
    real = load_real(tmp_path / "real.npy")
    ext = SimpleNamespace(name="mean", key="mean-v1", dims=3)
    calls = []

    def embed(load, n):
        calls.append(n)
        return load(0, n).mean(axis=(2, 3))

    cache = tmp_path / "cache"
    a = real_features(real, ext, embed, cache)
    assert calls == [20] and not a.from_cache and a.cache_path.is_file()
    assert a.features.shape == (20, 3) and a.sigma.shape == (3, 3)
    b = real_features(real, ext, embed, cache)
    assert calls == [20] and b.from_cache
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.sigma, b.sigma)
    # a copy under another name hits the same cache entry; another extractor key does not
    (tmp_path / "copy.npy").write_bytes((tmp_path / "real.npy").read_bytes())
    assert real_features(load_real(tmp_path / "copy.npy"), ext, embed, cache).from_cache
    other = SimpleNamespace(name="mean", key="mean-v2", dims=3)
    assert cache_path(real, other, cache) != cache_path(real, ext, cache)
    real_features(real, other, embed, cache)
    assert calls == [20, 20]
    # a damaged cache file is recomputed and replaced
    a.cache_path.write_bytes(b"garbage")
    c = real_features(real, ext, embed, cache)
    assert not c.from_cache and calls == [20, 20, 20]
    assert real_features(real, ext, embed, cache).from_cache
    assert not list(cache.glob("*.tmp"))
    monkeypatch.setenv("GANANALYZE_CACHE", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    assert cache_path(real, ext).parent == tmp_path / "env-cache"
