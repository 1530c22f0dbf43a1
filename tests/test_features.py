"""Feature extractors: pytorch-fid parity of the Inception path, digits net, TorchScript, errors.

The real Inception weights cannot be downloaded in tests, so the parity tests
use a randomly initialised state dict of pytorch-fid's exact architecture,
loaded both into pytorch-fid's InceptionV3 and into ours.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics import features as fe


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return fe.random_fid_inception_weights(tmp_path_factory.mktemp("incep") / "rand.pth", seed=0)


@pytest.fixture(scope="module")
def ours(weights):
    return fe.get_extractor("inception", inception_weights=weights, download=False)


@pytest.fixture(scope="module")
def reference(weights):
    """pytorch-fid's own InceptionV3 (pool3 block) with the same weights."""
    from pytorch_fid import inception as pfi

    state = torch.load(weights, weights_only=True)
    with mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: state):
        return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()


def _images(n=3, c=3, size=20, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def test_inception_features_equal_pytorch_fid(ours, reference, weights):
    x = _images()
    feats, logits = ours(x)
    with torch.no_grad():
        ref = reference(x)[0].flatten(1)
    assert feats.shape == (3, 2048) and feats.dtype == torch.float32
    assert ours.dims == 2048 and ours.has_logits
    assert ref.abs().mean() > 0.01  # the random network does not collapse to zeros
    assert (feats[0] - feats[1]).abs().max() > 1e-3  # and distinguishes images
    torch.testing.assert_close(feats, ref, rtol=1e-5, atol=1e-5)
    # Logits: the 1008-way fc of the same network, without bias (the original IS code's).
    net = fe.build_fid_inception(weights)
    assert logits.shape == (3, 1008)
    torch.testing.assert_close(logits, net.fc(ref) - net.fc.bias, rtol=1e-4, atol=1e-4)


def test_grayscale_is_repeated_to_three_channels(ours, reference):
    x = _images(n=2, c=1, size=12, seed=1)
    feats, _ = ours(x)
    with torch.no_grad():
        ref = reference(x.repeat(1, 3, 1, 1))[0].flatten(1)
    torch.testing.assert_close(feats, ref, rtol=1e-5, atol=1e-5)


def test_png_folder_route_of_pytorch_fid_gives_same_features(ours, reference, tmp_path):
    """Quantised to 8 bits, our in-memory features equal pytorch-fid's PNG-folder route."""
    from PIL import Image
    from pytorch_fid.fid_score import get_activations

    u8 = (_images(n=4, size=16, seed=2) * 255).round().to(torch.uint8)
    files = []
    for i, img in enumerate(u8):
        f = tmp_path / f"{i}.png"
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(f)
        files.append(f)
    ref = get_activations(files, reference, batch_size=4, dims=2048, num_workers=0)
    feats, _ = ours(u8.float() / 255)
    np.testing.assert_allclose(feats.numpy(), ref, rtol=1e-5, atol=1e-5)
    feats_u8, _ = ours(u8)  # uint8 input is scaled like ToTensor
    torch.testing.assert_close(feats_u8, feats)


def test_key_depends_on_weight_contents(ours, weights, tmp_path):
    other = fe.random_fid_inception_weights(tmp_path / "other.pth", seed=1)
    copy = tmp_path / "copy.pth"
    copy.write_bytes(weights.read_bytes())
    assert fe.get_extractor("inception", inception_weights=copy).key == ours.key
    assert fe.get_extractor("inception", inception_weights=other).key != ours.key


def test_missing_inception_weights_name_the_file(tmp_path, monkeypatch):
    with pytest.raises(GanAnalyzeError, match="not found.*pt_inception-2015-12-05-6726825d.pth"):
        fe.get_extractor("inception", inception_weights=tmp_path / "nope.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub_home"))
    with pytest.raises(GanAnalyzeError) as e:
        fe.get_extractor("inception", download=False)
    msg = str(e.value)
    assert (
        fe.INCEPTION_URL in msg
        and str(tmp_path / "hub_home") in msg
        and "--inception-weights" in msg
    )
    # A failing download ends in the same error (no network in tests: simulate it).
    with mock.patch.object(fe.urllib.request, "urlopen", side_effect=OSError("no route to host")):
        with pytest.raises(GanAnalyzeError, match="download failed: no route to host"):
            fe.get_extractor("inception")
    assert not list((tmp_path / "hub_home").rglob("*.part*"))


def test_wrong_weights_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(3)}, bad)
    with pytest.raises(GanAnalyzeError, match="not a pytorch-fid FID Inception state dict"):
        fe.get_extractor("inception", inception_weights=bad)
    junk = tmp_path / "junk.pth"
    junk.write_text("hello")
    with pytest.raises(GanAnalyzeError, match="cannot read Inception weights"):
        fe.get_extractor("inception", inception_weights=junk)


def test_digits_extractor_classifies_digits():
    from sklearn.datasets import load_digits

    assert fe.DIGITS_WEIGHTS.stat().st_size < 1_000_000
    ex = fe.get_extractor("digits")
    assert (ex.name, ex.dims, ex.has_logits) == ("digits", 64, True)
    ds = load_digits()
    x = torch.from_numpy(ds.images[:, None].astype(np.float32) / 16.0)
    feats, logits = ex(x)
    assert feats.shape == (len(x), 64)
    acc = (logits.argmax(1).numpy() == ds.target).mean()
    assert acc > 0.97  # held-out accuracy is 0.984, training 0.986
    # RGB and larger images are accepted: averaged to grey, pooled to 8x8.
    big = x[:5].repeat_interleave(4, dim=2).repeat_interleave(4, dim=3).repeat(1, 3, 1, 1)
    f_big, _ = ex(big)
    torch.testing.assert_close(f_big, feats[:5], rtol=1e-5, atol=1e-5)


def _save_script(module, path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return path


class _FeatsOnly(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :5] * 2.0


class _WithLogits(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = x.mean(dim=(2, 3))
        return f, f * 10.0


def test_torchscript_extractors(tmp_path):
    p1 = _save_script(_FeatsOnly(), tmp_path / "feats.pt")
    ex = fe.get_extractor(f"torchscript:{p1}")
    assert ex.dims is None and ex.has_logits is False  # dims learnt on the first call
    x = _images(n=4, c=3, size=6)
    f, lg = ex(x)
    assert lg is None and ex.dims == 5 and ex.has_logits is False
    torch.testing.assert_close(f, x.flatten(1)[:, :5] * 2)
    p2 = _save_script(_WithLogits(), tmp_path / "both.pt")
    ex2 = fe.get_extractor(str(p2))  # a bare path works too
    assert ex2.has_logits is True  # from forward's return type, before any call
    f2, lg2 = ex2(x)
    torch.testing.assert_close(lg2, f2 * 10)
    assert ex2.has_logits and ex2.key.startswith("torchscript:") and ex2.key != ex.key
    # extract(): batches and NumPy output equal one big call.
    feats, logits = fe.extract(ex2, x.numpy(), batch_size=3)
    np.testing.assert_allclose(feats, f2.numpy(), rtol=1e-6)
    np.testing.assert_allclose(logits, lg2.numpy(), rtol=1e-6)


def test_bad_specs_are_user_errors(tmp_path):
    with pytest.raises(GanAnalyzeError, match="unknown feature extractor"):
        fe.get_extractor("resnet")
    with pytest.raises(GanAnalyzeError, match="not found"):
        fe.get_extractor(f"torchscript:{tmp_path / 'missing.pt'}")
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    with pytest.raises(GanAnalyzeError, match="not a TorchScript file"):
        fe.get_extractor(str(junk))
    with pytest.raises(GanAnalyzeError, match=r"\(N, C, H, W\)"):
        fe.get_extractor("digits")(torch.rand(3, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_extractors_on_cuda_match_cpu(ours, weights):
    x = _images(n=4, size=16, seed=5)
    gpu = fe.get_extractor("inception", device="cuda", inception_weights=weights)
    f_gpu, lg_gpu = gpu(x)  # moved to the device by the call
    assert f_gpu.device.type == "cuda"
    f_cpu, _ = ours(x)
    # cuDNN convolutions use TF32 by default (as they do for pytorch-fid on a GPU)
    torch.testing.assert_close(f_gpu.cpu(), f_cpu, rtol=2e-2, atol=2e-2)
    d_cpu, d_gpu = fe.get_extractor("digits"), fe.get_extractor("digits", device="cuda")
    torch.testing.assert_close(d_gpu(x)[0].cpu(), d_cpu(x)[0], rtol=1e-2, atol=1e-2)
