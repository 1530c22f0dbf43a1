"""Per-class sample metrics of a conditional generator (metrics/conditional.py), the
labelled real data they need (metrics/realdata.py) and the registry entries."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics import conditional as cm
from gananalyze.metrics.realdata import load_real
from gananalyze.metrics.registry import METRICS, compute_metrics

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits_features():
    """The digits extractor's features of scikit-learn's digits, and their labels."""
    from gananalyze.metrics.features import get_extractor

    rd = load_real("sklearn-digits")
    ex = get_extractor("digits")
    x = torch.from_numpy(rd.load(0, rd.count))
    with torch.inference_mode():
        f = ex(x)[0].numpy().astype(np.float64)
    return f, rd.labels


def test_per_class_frechet_equals_pytorch_fid(digits_features):
    """FID within each class = pytorch-fid's calculate_frechet_distance on that class's features."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    f, y = digits_features
    rng = np.random.default_rng(0)
    fake = f + rng.normal(0, 0.3, f.shape)  # a "generator" close to the data
    fake_y = y.copy()
    fake_y[(y == 3) & (np.arange(len(y)) % 2 == 0)] = 8  # ... that draws 3s where 8s were asked
    ours = cm.per_class_fid(f, y, fake, fake_y, 10)
    for k in range(10):
        a, b = f[y == k], fake[fake_y == k]
        ref = calculate_frechet_distance(
            a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
        )
        assert ours[k] == pytest.approx(ref, rel=1e-6, abs=1e-8), k
    assert np.isnan(ours).sum() == 0
    out = compute_metrics("cfid", f, fake, labels=(y, fake_y, 10))
    assert out["cfid"] == pytest.approx(ours.mean()) and out["cfid_worst"] == pytest.approx(
        ours.max()
    )
    assert json.loads(out["per_class"])["fid"] == pytest.approx(list(ours))


def test_conditional_accuracy_chance_and_real_score(digits_features):
    f, y = digits_features
    right = cm.conditional_scores(f, y, f[::2], y[::2], 10)
    # the real samples asked for their own class: the classifier's own accuracy
    assert right["cond_acc_real"] > 0.95
    assert right["cond_acc"] >= right["cond_acc_real"] - 0.02
    assert right["cond_acc_chance"] == pytest.approx(0.1, abs=0.01)
    assert right["class_coverage"] == 1.0
    assert right["pred"] == list(range(10))
    # a G that ignores its label: the same samples asked for random classes
    rng = np.random.default_rng(1)
    ignored = cm.conditional_scores(f, y, f[::2], rng.integers(0, 10, len(f[::2])), 10)
    assert abs(ignored["cond_acc"] - ignored["cond_acc_chance"]) < 0.04
    assert ignored["class_coverage"] == 1.0 and ignored["cdiv"] == pytest.approx(1.0, abs=0.05)
    # label 3 gives 8s: its accuracy is 0 and the 8s it makes are named
    mine = y[::2].copy()
    asked = np.where(mine == 8)[0]
    fake_y = np.r_[mine[mine != 3], np.full(len(asked), 3)]
    fake = np.r_[f[::2][mine != 3], f[::2][asked]]
    dropped = cm.conditional_scores(f, y, fake, fake_y, 10)
    assert dropped["acc"][3] < 0.05 and dropped["pred"][3] == 8 and dropped["pred_share"][3] > 0.9


def test_conditional_metrics_need_labels(digits_features):
    f, _ = digits_features
    with pytest.raises(GanAnalyzeError, match="metric 'cacc' needs labelled real data"):
        compute_metrics("cacc", f, f)
    assert METRICS["cacc"].value_columns == ("cond_acc", "class_coverage")
    assert METRICS["cfid"].needs == METRICS["cacc"].needs == "labels"


def test_labelled_real_data(tmp_path):
    digits = load_real("sklearn-digits")
    assert digits.labels.shape == (1797,) and np.bincount(digits.labels)[0] == 178
    # a folder per class: numbered folders give their number, others their rank
    for name, value in (("7", 7), ("2", 2)):
        (tmp_path / "num" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((4, 4), value * 10 + i, np.uint8)).save(
                tmp_path / "num" / name / f"{i}.png"
            )
    rd = load_real(tmp_path / "num")
    x = rd.load(0, rd.count)
    # each image's label matches its folder, whatever order the content sort gave
    shade = [int(round(float(img[0, 0, 0]) * 255)) // 10 for img in x]
    got = set(zip(shade, rd.labels.tolist(), strict=True))
    assert got == {(7, 7), (2, 2)}
    (tmp_path / "num" / "cats").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "num" / "cats" / "a.png")
    assert sorted(set(load_real(tmp_path / "num").labels)) == [0, 1, 2]  # ranks: 2, 7, cats
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "num" / "loose.png")
    assert load_real(tmp_path / "num").labels is None  # not every image sits in a class folder
    # a .npz with a labels array beside the images
    np.savez(
        tmp_path / "l.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.array([0, 1, 1, 0])
    )
    assert list(load_real(tmp_path / "l.npz").labels) == [0, 1, 1, 0]
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.zeros(3))
    with pytest.raises(GanAnalyzeError) as e:
        load_real(tmp_path / "bad.npz")
    assert str(e.value) == (
        f"{tmp_path / 'bad.npz'}: the labels must be 4 integer classes (one per image), "
        "found float64 (3,)"
    )
