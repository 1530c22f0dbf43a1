"""Running a network over many inputs in batches without dying of GPU out-of-memory.

`Batcher` owns the current batch size: `run(n, fn)` calls `fn(start, stop)` on
consecutive index ranges and, when a call raises CUDA out-of-memory, halves the
batch size and retries the same range (down to one item, then a clear error).
Work is addressed by global index ranges, never by "the next batch", so the
inputs (e.g. the noise of sample i) do not depend on the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import GanAnalyzeError

DEFAULT_BATCH_SIZE = {"cuda": 500, "cpu": 100}


class OutOfMemory(GanAnalyzeError):
    """Out of memory even with batch size 1: fatal for the whole sweep."""


def default_batch_size(device: Any) -> int:
    """A batch size that suits the device: large on GPUs (halved on OOM), modest on CPUs."""
    kind = getattr(device, "type", str(device).split(":")[0])
    return DEFAULT_BATCH_SIZE.get(kind, DEFAULT_BATCH_SIZE["cpu"])


def is_oom(exc: BaseException) -> bool:
    """Whether `exc` is a (CUDA) out-of-memory error."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class Batcher:
    """Current batch size, halved on out-of-memory and kept halved afterwards."""

    def __init__(
        self,
        batch_size: int,
        device: Any = "cpu",
        on_halve: Callable[[int, int], None] | None = None,
    ):
        if batch_size < 1:
            raise GanAnalyzeError(f"batch size must be at least 1, not {batch_size}")
        self.size = int(batch_size)
        self.device = device
        self.on_halve = on_halve
        self.halvings = 0

    def run(self, n: int, fn: Callable[[int, int], Any]) -> list[Any]:
        """[fn(0, b), fn(b, 2b), ...] covering range(n); halves the batch on OOM and retries."""
        out: list[Any] = []
        start = 0
        while start < n:
            stop = min(start + self.size, n)
            try:
                out.append(fn(start, stop))
            except Exception as e:
                if not is_oom(e):
                    raise
                self._free()
                if self.size == 1:
                    raise OutOfMemory(
                        f"out of memory on {self.device} even with batch size 1"
                    ) from None
                old = self.size
                self.size = max(1, self.size // 2)
                self.halvings += 1
                if self.on_halve is not None:
                    self.on_halve(old, self.size)
                continue
            start = stop
        return out

    def _free(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
