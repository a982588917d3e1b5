"""`Batch.to(device, non_blocking=...)` and `Batch.pin_memory()` (what torch's DataLoader calls with
pin_memory=True) keep every field; the real page-locked copy needs a CUDA build of torch."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from hierskp.dataset.batch import Batch, collate


def _items(n: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        k = 2 + i
        out.append(
            {
                "index": i,
                "t_video": rng.normal(size=5).astype(np.float32),
                "video_key": 10 + i,
                "proc_key": i % 2,
                "t_ops": rng.normal(size=(k, 5)).astype(np.float32),
                "op_keys": np.arange(k, dtype=np.int64) + 100 * i,
                "op_label_keys": np.arange(k, dtype=np.int64),
                "video": [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(2 + i)],
                "ops": [rng.normal(size=(2, 4)).astype(np.float32) for _ in range(k)],
                "windows": [rng.normal(size=(2, 4)).astype(np.float32)],
                "t_narr": rng.normal(size=(1, 5)).astype(np.float32),
                "narr_keys": np.array([7 + i]),
                "narr_op": np.array([0]),
            }
        )
    return out


def _same(a: Batch, b: Batch) -> None:
    for f in fields(Batch):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert (x is None) == (y is None), f.name
        if x is not None:
            assert x.dtype == y.dtype and torch.equal(x.cpu(), y.cpu()), f.name


def test_to_keeps_every_field():
    batch = collate(_items(), twins={})
    assert all(getattr(batch, f.name) is not None for f in fields(Batch))
    for non_blocking in (False, True):
        moved = batch.to("cpu", non_blocking=non_blocking)
        _same(moved, batch)
        assert moved is not batch
    partial = Batch(**{**batch.__dict__, "windows": None, "narr_op": None})
    _same(partial.to(torch.device("cpu")), partial)


class _Recorder(torch.Tensor):
    """A tensor subclass that records pin_memory() calls (works without CUDA)."""

    calls: list[tuple[int, ...]] = []

    def pin_memory(self, *args, **kwargs):  # type: ignore[override]
        type(self).calls.append(tuple(self.shape))
        return torch.Tensor(self).clone()


def test_pin_memory_is_called_per_tensor_field():
    batch = collate(_items(), twins={})
    tagged = Batch(
        **{
            f.name: (v.as_subclass(_Recorder) if isinstance(v := getattr(batch, f.name), torch.Tensor) else v)
            for f in fields(Batch)
        }
    )
    _Recorder.calls = []
    pinned = tagged.pin_memory()
    n_tensors = sum(isinstance(getattr(batch, f.name), torch.Tensor) for f in fields(Batch))
    assert len(_Recorder.calls) == n_tensors == len(fields(Batch))
    _same(pinned, batch)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="page-locked memory needs CUDA")
def test_dataloader_pins_the_custom_batch():
    loader = DataLoader([_items()], batch_size=None, collate_fn=collate, pin_memory=True)
    batch = next(iter(loader))
    assert isinstance(batch, Batch) and batch.video.is_pinned() and batch.index.is_pinned()
    moved = batch.to("cuda", non_blocking=True)
    torch.cuda.synchronize()
    _same(moved, batch)
