"""Feature extractors for sample metrics: a registry of name -> factory.

An extractor is an `Extractor`: `name`, `key` (identifies weights and
preprocessing; use it in cache keys), `dims` (feature size), `has_logits`,
`device`, and a call `extractor(images) -> (features, logits | None)` where
images is a float tensor (N, C, H, W) with values in [0, 1] (C = 1 or 3; a
uint8 tensor is taken as 0..255 and divided by 255, as ToTensor does) and
features is a float32 (N, D) tensor on the extractor's device. The call runs
under `torch.inference_mode()` and moves the batch to the device if needed.

Extractors (`get_extractor(spec)`):
- "inception": pytorch-fid's FID Inception v3 (TF-ported weights
  pt_inception-2015-12-05), pool3 features (2048-d) with pytorch-fid's exact
  preprocessing: grayscale repeated to 3 channels, bilinear resize to 299x299
  (`F.interpolate(mode="bilinear", align_corners=False)`, no antialias), scaled
  to [-1, 1]. Logits (1008-way) come from the same forward pass as
  pool3 @ fc.weightᵀ without the bias, as the original Inception Score code and
  torch-fidelity ("logits_unbiased") compute them.
- "digits": a small CNN trained on scikit-learn's digits (shipped as TorchScript
  in gananalyze/data/digits_features.pt, trained by
  examples/train_digits_features.py): 64-d penultimate features and 10 class
  logits; any image size, RGB averaged to grey, area-resampled to 8x8.
- "torchscript:PATH" (or just a path ending in .pt/.pth/.ts): any TorchScript
  module taking float32 (N, C, H, W) in [0, 1] on the device and returning
  features (N, D) or a tuple (features, logits). It does its own resizing and
  normalisation. Optional integer attribute `dims` and bool `has_logits` on the
  module; otherwise has_logits is read from forward's declared return type and
  dims is learnt on the first call.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GanAnalyzeError

INCEPTION_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
INCEPTION_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SIZE = 299
DIGITS_WEIGHTS = Path(__file__).parents[1] / "data" / "digits_features.pt"


@dataclass
class Extractor:
    """A feature network ready to run: call it with a (N, C, H, W) [0, 1] float batch."""

    name: str
    key: str
    dims: int | None
    has_logits: bool | None
    device: torch.device
    fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not isinstance(images, torch.Tensor):
            images = torch.as_tensor(np.asarray(images))
        if images.ndim != 4:
            raise GanAnalyzeError(
                f"{self.name}: images must be (N, C, H, W), got shape {tuple(images.shape)}"
            )
        if images.dtype == torch.uint8:  # 8-bit images (what PNG files hold): 0..255 -> [0, 1]
            images = images.to(self.device).float() / 255.0
        with torch.inference_mode():
            feats, logits = self.fn(images.to(self.device, torch.float32))
        feats = feats.float()
        logits = None if logits is None else logits.float()
        if self.dims is None:
            self.dims = int(feats.shape[1])
        if self.has_logits is None:
            self.has_logits = logits is not None
        return feats, logits


def file_digest(path: str | os.PathLike, n: int = 16) -> str:
    """First n hex digits of the SHA-256 of a file's contents (for cache keys)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]


# ---------------------------------------------------------------------- Inception


def inception_cache_path() -> Path:
    """Where pytorch-fid (torch.hub) keeps the FID Inception weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILENAME


def _download_inception(dst: Path, timeout: float = 30.0) -> None:
    """Fetch the weights into dst (atomically); check torch.hub's hash prefix."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + f".part{os.getpid()}")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(INCEPTION_URL, timeout=timeout) as r, open(tmp, "wb") as f:
            for block in iter(lambda: r.read(1 << 20), b""):
                h.update(block)
                f.write(block)
        if not h.hexdigest().startswith("6726825d"):
            raise OSError("downloaded file has the wrong SHA-256")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def resolve_inception_weights(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The weights file to use: `path` if given, else the torch hub
    cache (downloaded if allowed).
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise GanAnalyzeError(
                f"Inception weights file not found: {p} (expected pytorch-fid's "
                f"{INCEPTION_FILENAME}, "
                f"from {INCEPTION_URL})"
            )
        return p
    p = inception_cache_path()
    if p.is_file():
        return p
    why = "downloads are disabled"
    if download:
        try:
            _download_inception(p)
            return p
        except Exception as e:  # no network, proxy, HTTP error, bad hash
            why = f"download failed: {e}"
    raise GanAnalyzeError(
        f"FID Inception weights not found at {p} and {why}. Download {INCEPTION_URL} "
        f"and save it as {p} (or pass --inception-weights PATH to the file {INCEPTION_FILENAME})"
    )


def build_fid_inception(weights: str | os.PathLike) -> torch.nn.Module:
    """pytorch-fid's FID Inception v3 (with its 1008-way fc), loaded from a weights file.

    The architecture is pytorch-fid's own `fid_inception_v3()`; its download
    is replaced by loading `weights` (strictly: every key must match).
    """
    from unittest import mock

    from pytorch_fid import inception as pfi

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as e:
        raise GanAnalyzeError(f"cannot read Inception weights {weights}: {e}") from None
    try:
        with mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: state):
            net = pfi.fid_inception_v3()
    except RuntimeError as e:
        raise GanAnalyzeError(
            f"{weights} is not a pytorch-fid FID Inception state dict: {str(e)[:200]}"
        ) from None
    return net.eval()


_INCEPTION_TRUNK = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1",
    "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool",
)  # fmt: skip


def inception_preprocess(images: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's input pipeline: grey -> 3 channels, bilinear 299x299, [0, 1] -> [-1, 1]."""
    c = images.shape[1]
    if c not in (1, 3):
        raise GanAnalyzeError(f"inception: images must have 1 or 3 channels, got {c}")
    # Resizing is per channel, so resizing one grey channel and then repeating it
    # equals pytorch-fid's (PIL convert("RGB") first) at a third of the cost.
    x = F.interpolate(
        images, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False
    )
    x = 2 * x - 1
    return x.expand(-1, 3, -1, -1) if c == 1 else x


def make_inception(device="cpu", inception_weights=None, download: bool = True, **_kw) -> Extractor:
    """pytorch-fid's FID Inception: pool3 (2048) features and 1008 unbiased logits, one pass."""
    path = resolve_inception_weights(inception_weights, download=download)
    dev = torch.device(device)
    # channels-last (NHWC) convolutions: measured 1.55x faster on CPU (oneDNN),
    # and the layout cuDNN's tensor-core kernels want; same numbers to float
    # rounding (tests compare with pytorch-fid).
    net = build_fid_inception(path).to(dev, memory_format=torch.channels_last)
    trunk = [getattr(net, n) for n in _INCEPTION_TRUNK]
    fc_w = net.fc.weight

    def run(images: torch.Tensor):
        x = inception_preprocess(images).contiguous(memory_format=torch.channels_last)
        for m in trunk:
            x = m(x)
        pool3 = torch.flatten(x, 1)
        return pool3, pool3 @ fc_w.T

    key = f"inception-pytorch-fid:{file_digest(path)}:bilinear299:pool3+logits-nobias"
    return Extractor("inception", key, 2048, True, dev, run)


# -------------------------------------------------------------------- TorchScript


def load_script(path: str | os.PathLike, dev: torch.device) -> torch.jit.ScriptModule:
    p = Path(path).expanduser()
    if not p.is_file():
        raise GanAnalyzeError(f"feature network not found: {p}")
    try:
        with warnings.catch_warnings():  # deprecated in favour of torch.export, still supported
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(p), map_location=dev).eval()
    except Exception as e:
        raise GanAnalyzeError(
            f"{p} is not a TorchScript file (torch.jit.save): {str(e)[:200]}"
        ) from None


def _script_extractor(name: str, path: str | os.PathLike, dev: torch.device) -> Extractor:
    mod = load_script(path, dev)

    def run(images: torch.Tensor):
        out = mod(images)
        if isinstance(out, (tuple, list)):
            feats, logits = out[0], (out[1] if len(out) > 1 else None)
        else:
            feats, logits = out, None
        if (
            not isinstance(feats, torch.Tensor)
            or feats.ndim != 2
            or feats.shape[0] != images.shape[0]
        ):
            raise GanAnalyzeError(
                f"{path}: expected features of shape (N, D) for N={images.shape[0]} images"
            )
        return feats, logits

    dims = getattr(mod, "dims", None)
    has_logits = getattr(mod, "has_logits", None)
    if has_logits is None:
        has_logits = _returns_tuple(mod)
    return Extractor(
        name,
        f"{name}:{file_digest(path)}",
        None if dims is None else int(dims),
        None if has_logits is None else bool(has_logits),
        dev,
        run,
    )


def _returns_tuple(mod) -> bool | None:
    """Whether forward's declared return type is a tuple (features, logits); None if unknown."""
    try:
        ret = str(mod.forward.schema.returns[0].type)
    except Exception:
        return None
    if ret.startswith("Tuple["):
        return ret.count("Tensor") >= 2
    return False if ret == "Tensor" else None


def make_torchscript(path: str | os.PathLike | None = None, device="cpu", **_kw) -> Extractor:
    """Any TorchScript feature network (see the module docstring for its contract)."""
    if not path:
        raise GanAnalyzeError("torchscript extractor needs a path: torchscript:PATH")
    return _script_extractor("torchscript", path, torch.device(device))


def make_digits(device="cpu", **_kw) -> Extractor:
    """The shipped digits CNN: 64-d features, 10 logits (see examples/train_digits_features.py).

    Test accuracy 0.984 on 450 held-out scikit-learn digits (25% stratified split, seed 0).
    """
    return _script_extractor("digits", DIGITS_WEIGHTS, torch.device(device))


# name -> factory(device=..., **options)
EXTRACTORS: dict[str, Callable[..., Extractor]] = {
    "inception": make_inception,
    "digits": make_digits,
    "torchscript": make_torchscript,
}


def get_extractor(
    spec: str, device="cpu", inception_weights=None, download: bool = True
) -> Extractor:
    """Build the extractor named by spec: "inception", "digits", "torchscript:PATH" or a .pt path.

    download: whether "inception" may fetch missing weights into the torch hub cache.
    """
    name, _, arg = spec.partition(":")
    if name not in EXTRACTORS and (
        spec.endswith((".pt", ".pth", ".ts", ".jit")) or Path(spec).is_file()
    ):
        name, arg = "torchscript", spec
    if name not in EXTRACTORS:
        raise GanAnalyzeError(
            f"unknown feature extractor {spec!r}; choose from inception, digits, torchscript:PATH "
            "(or give the path of a TorchScript file)"
        )
    if name == "torchscript":
        return make_torchscript(arg, device=device)
    return EXTRACTORS[name](device=device, inception_weights=inception_weights, download=download)


def extract(
    extractor: Extractor, images, batch_size: int = 100
) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (and logits) of an image array/tensor (N, C, H, W)
    in [0, 1], in batches, as NumPy.
    """
    feats, logits = [], []
    for lo in range(0, len(images), batch_size):
        batch = images[lo : lo + batch_size]
        if not isinstance(batch, torch.Tensor):
            batch = torch.from_numpy(np.ascontiguousarray(batch))
        f, lg = extractor(batch)
        feats.append(f.cpu().numpy())
        if lg is not None:
            logits.append(lg.cpu().numpy())
    d = extractor.dims or 0
    f_all = np.concatenate(feats) if feats else np.zeros((0, d), np.float32)
    return f_all, (np.concatenate(logits) if logits else None)


def random_fid_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Save a randomly initialised state dict of pytorch-fid's FID Inception to path.

    For tests and benchmarks on machines without the real weights: same
    architecture and keys, He-initialised convolutions (so activations keep a
    useful scale through the 94 layers), random BatchNorm shifts and fc.
    """
    from unittest import mock

    from pytorch_fid import inception as pfi

    g = torch.Generator().manual_seed(seed)
    with (
        mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: {}),
        mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *a, **k: None),
    ):
        net = pfi.fid_inception_v3()
    state = {}
    for k, v in net.state_dict().items():
        if k.endswith("conv.weight"):
            fan_in = v[0].numel()
            v = torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif k.endswith("bn.bias"):
            v = torch.randn(v.shape, generator=g) * 0.1
        elif k == "fc.weight":
            v = torch.randn(v.shape, generator=g) * (1.0 / v.shape[1]) ** 0.5
        elif k == "fc.bias":
            v = torch.randn(v.shape, generator=g) * 0.1
        state[k] = v.clone()
    path = Path(path)
    torch.save(state, path)
    return path
