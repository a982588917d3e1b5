"""The dataset cuts the right rows, reads only the chunks it needs, and works in DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest
from torch.utils.data import DataLoader
from zarr.storage import LocalStore

import cache_schema as cs
from hierskp.dataset.batch import collate
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset, ItemSpec, pool_rows
from hierskp.train.sampling import StepBatchSampler
from tests.fixtures.synthetic_cache import write_ramp_cache


def test_index_rows(tmp_path):
    store = write_ramp_cache(tmp_path / "c.zarr")
    (e,) = catalog(store)
    np.testing.assert_array_equal(e.op_rows, [[10, 20], [20, 51], [590, 600]])
    np.testing.assert_array_equal(e.narr_rows, [15, 300, 599])
    np.testing.assert_array_equal(e.narr_op, [0, -1, 2])
    assert e.op_labels == ("a", "b", "c") and e.split == "test" and e.n_frames == 600
    assert catalog(store, ["train"]) == []


def test_item_windows_segments_video(tmp_path):
    store = write_ramp_cache(tmp_path / "c.zarr")
    spec = ItemSpec(frame_window=4, max_clip_len=8, max_video_len=16)
    item = CacheVideoDataset(store.url, catalog(store), spec)[0]
    # windows centred on rows 15, 300, 599; the last one is shifted inside the video, not cut
    assert [w[:, 0].tolist() for w in item["windows"]] == [[13, 14, 15, 16], [298, 299, 300, 301], [596, 597, 598, 599]]
    # operation "a" = rows 10..19 pooled into 8 ordered bins
    np.testing.assert_allclose(item["ops"][0][:, 0], [10, 11, 12, 13.5, 15, 16, 17, 18.5])
    assert len(item["ops"][1]) == 8 and item["ops"][1][0, 0] < item["ops"][1][-1, 0]
    np.testing.assert_allclose(item["ops"][2][:, 0], pool_rows(np.arange(590, 600, dtype=np.float32)[:, None], 8)[:, 0])
    # the whole video as 16 clips of 37 or 38 frames, each pooled to video_clip_len=4 ordered frames
    assert len(item["video"]) == 16 and all(c.shape == (4, 8) for c in item["video"])
    np.testing.assert_allclose(item["video"][0][:, 0], [4, 13, 22, 31.5])  # rows 0-36 in bins of 9, 9, 9, 10
    np.testing.assert_allclose(item["video"][-1][:, 0], [566, 575.5, 585, 594.5])  # rows 562-599
    np.testing.assert_array_equal(item["narr_op"], [0, -1, 2])
    batch = collate([item, item])
    assert batch.windows.shape == (6, 4, 8) and batch.ops.shape == (6, 8, 8) and batch.video.shape == (2, 16, 4, 8)
    assert batch.narr_op.tolist() == [0, -1, 2, 3, -1, 5] and batch.op_video.tolist() == [0, 0, 0, 1, 1, 1]


def _feature_chunk_reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = LocalStore.get

    async def counting(self, key, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "frames/features/c/" in key:
            seen.append(key.split("frames/features/")[1])
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "get", counting)
    return seen


def test_reads_only_needed_chunks(tmp_path, monkeypatch):
    store = write_ramp_cache(tmp_path / "c.zarr")  # 600 rows = chunks 0, 1, 2 of 256 rows
    index = catalog(store)
    reads = _feature_chunk_reads(monkeypatch)
    frames_only = CacheVideoDataset(store.url, index, ItemSpec(need_video=False, need_ops=False, frame_window=4))
    frames_only[0]
    assert sorted(reads) == ["c/0/0", "c/1/0", "c/2/0"]  # rows 13-16, 298-301, 596-599: each chunk read once
    reads.clear()
    ops_only = CacheVideoDataset(store.url, index, ItemSpec(need_video=False, need_frames=False))
    ops_only[0]
    assert sorted(reads) == ["c/0/0", "c/2/0"]  # operations at rows 10-51 and 590-600: chunk 1 is never touched


def _batches(loader) -> list:  # type: ignore[no-untyped-def]
    return [(b.index.tolist(), b.video.sum().item(), b.windows.sum().item()) for b in loader]


@pytest.mark.timeout(120)
def test_dataloader_two_workers_matches_in_process(tiny_cache):
    store = cs.open_cache(tiny_cache)
    index = catalog(store, ["pretrain", "train"])
    store.read_video(index[0].video_id).features[:5]  # the parent has used zarr before the workers start
    ds = CacheVideoDataset(tiny_cache, index, ItemSpec(frame_jitter=1, max_narrations=6, max_clip_len=8))
    groups = [e.procedure for e in index]

    def loader(workers: int) -> DataLoader:
        sampler = StepBatchSampler(groups, 4, seed=3, total_steps=6)
        return DataLoader(
            ds,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=workers,
            multiprocessing_context="spawn" if workers else None,
        )

    assert _batches(loader(2)) == _batches(loader(0))
