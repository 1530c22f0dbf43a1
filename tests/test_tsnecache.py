"""The t-SNE kept with the run's evaluations (runio/tsnecache.py, analysis.tsne.embed): read
back instead of recomputed, keyed by what it depends on, and a stored file is untrusted."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from gananalyze.analysis import tsne
from gananalyze.runio import tsnecache


def test_an_embedding_is_kept_and_read_back(tmp_path):
    real = np.arange(8.0).reshape(4, 2)
    fake = {500: real + 1, 1000: real + 2}
    assert tsnecache.write(tmp_path, "k1", real, fake, dims=64)
    warnings: list[str] = []
    got = tsnecache.read(tmp_path, "k1", warnings)
    assert got is not None and warnings == []
    np.testing.assert_array_equal(got[0], real)
    assert sorted(got[1]) == [500, 1000] and got[2] == 64
    np.testing.assert_array_equal(got[1][1000], real + 2)
    assert tsnecache.read(tmp_path, "other", warnings) is None and warnings == []


def test_a_damaged_or_pickled_file_is_ignored_with_one_warning(tmp_path):
    p = tsnecache.path_of(tmp_path, "bad")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"not a zip")
    warnings: list[str] = []
    assert tsnecache.read(tmp_path, "bad", warnings) is None
    assert len(warnings) == 1 and warnings[0].startswith(f"{p}: stored t-SNE not readable")
    np.savez(p, real=np.array([{"x": 1}], dtype=object))  # a pickle: never loaded
    warnings.clear()
    assert tsnecache.read(tmp_path, "bad", warnings) is None
    assert "computed again" in warnings[0]
    np.savez(p, real=np.zeros((3, 3)))  # not 2-D points
    warnings.clear()
    assert tsnecache.read(tmp_path, "bad", warnings) is None
    assert "not finite (N, 2) points" in warnings[0]


def test_the_key_changes_with_a_checkpoints_bytes_and_the_settings(tmp_path):
    ck = tmp_path / "step-1.pt"
    ck.write_bytes(b"weights")
    run = SimpleNamespace(generator={"target": "m:G"})
    cks = [SimpleNamespace(step=1, path=Path(ck))]
    k = tsne.cache_key(run, cks, "sklearn-digits", 300, 0)
    assert k == tsne.cache_key(run, cks, "sklearn-digits", 300, 0)
    assert k != tsne.cache_key(run, cks, "sklearn-digits", 200, 0)
    assert k != tsne.cache_key(run, cks, "sklearn-digits", 300, 1)
    ck.write_bytes(b"weights, trained further")
    assert k != tsne.cache_key(run, cks, "sklearn-digits", 300, 0)


def test_embed_reads_the_kept_embedding_instead_of_computing(tmp_path, monkeypatch):
    ck = tmp_path / "checkpoints" / "step-000000010.pt"
    ck.parent.mkdir()
    ck.write_bytes(b"weights")
    run = SimpleNamespace(
        path=tmp_path,
        generator={"target": "gananalyze.digits:Generator"},
        checkpoints=[SimpleNamespace(step=10, path=ck, kind="native")],
        config={},
        warnings=[],
    )
    calls = []

    def fake_embed(run_, cks, real, n, seed, trust):
        calls.append(1)
        return tsne.TsneResult(np.zeros((3, 2)), {10: np.ones((3, 2))}, "sklearn-digits", 64)

    monkeypatch.setattr(tsne, "_embed", fake_embed)
    first = tsne.embed(run, run.checkpoints)
    again = tsne.embed(run, run.checkpoints)
    assert calls == [1] and again.dims == 64
    np.testing.assert_array_equal(again.fake[10], first.fake[10])
    tsne.embed(run, run.checkpoints, keep=False)
    assert calls == [1, 1]


def test_identical_rows_are_embedded_once_and_share_their_point():
    # a collapsed G's hundreds of copies of one row crashed sklearn's Barnes-Hut tree (SIGSEGV)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(100, 2))
    fakes = {0: rng.normal(size=(50, 2)), 100: np.full((400, 2), 0.25)}
    out = tsne.embed_points(real, fakes, seed=0)
    assert out.real.shape == (100, 2) and out.fake[100].shape == (400, 2)
    assert np.isfinite(out.fake[100]).all() and np.ptp(out.fake[100], axis=0).max() == 0.0
    # too few distinct points for t-SNE: laid out on a line, one point per distinct row
    few = tsne.embed_points(np.zeros((3, 2)), {5: np.ones((200, 2))})
    assert few.real.tolist() == [[0.0, 0.0]] * 3 and few.fake[5].tolist() == [[1.0, 0.0]] * 200
