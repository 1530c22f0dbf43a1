"""Train the small digits feature network shipped as gananalyze/data/digits_features.pt.

A CNN classifier on scikit-learn's 8x8 digits (1,797 images, nothing to
download). Its 64-d penultimate layer gives the features for FID/KID/PR/DC on
the digits sample runs; its 10 class logits give an IS-like score (at most 10).
The saved TorchScript module takes float (N, C, H, W) images in [0, 1] of any
size: RGB is averaged to grey and the image is area-resampled to 8x8.

Deterministic on CPU (fixed seeds, one thread), about 10 s:

    uv run python examples/train_digits_features.py [--out PATH]

Prints the held-out test accuracy (25% stratified split, seed 0).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

OUT = Path(__file__).resolve().parents[1] / "gananalyze" / "data" / "digits_features.pt"


class DigitsFeatures(nn.Module):
    """[0, 1] images -> (64-d features, 10 logits); `dims`, `has_logits` are kept by TorchScript."""

    def __init__(self) -> None:
        super().__init__()
        self.dims = 64
        self.has_logits = True
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, stride=2)  # 8x8 -> 4x4
        self.fc = nn.Linear(64 * 4 * 4, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] != 1:
            x = x.mean(dim=1, keepdim=True)
        if x.shape[-2] != 8 or x.shape[-1] != 8:
            x = F.adaptive_avg_pool2d(x, (8, 8))
        x = x * 2.0 - 1.0
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        feats = F.relu(self.fc(h.flatten(1)))
        return feats, self.head(feats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    ds = load_digits()
    x = (ds.images.astype(np.float32) / 16.0)[:, None]
    y = ds.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x_tr, y_tr = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    x_te, y_te = torch.from_numpy(x_te), torch.from_numpy(y_te)

    net = DigitsFeatures()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(0)
    for _epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x_tr), generator=g)
        for i in range(0, len(perm), 64):
            idx = perm[i : i + 64]
            # light augmentation: one-pixel shifts, so features are not brittle to
            # the small misalignments generated digits have
            xb = x_tr[idx]
            dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(net(xb)[1], y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(x_te)[1].argmax(1) == y_te).float().mean().item()
        train_acc = (net(x_tr)[1].argmax(1) == y_tr).float().mean().item()
    print(f"train accuracy {train_acc:.4f}, test accuracy {acc:.4f} ({len(y_te)} held-out images)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    with warnings.catch_warnings():  # torch.jit.script is deprecated but still the portable format
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(net)
        torch.jit.save(scripted, str(tmp))
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
