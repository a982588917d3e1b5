"""Per-frame embeddings of whole videos: one row per frame, the training windows, chunked reads."""

from __future__ import annotations

import numpy as np
import torch

import cache_schema as cs
from hierskp.dataset.items import ItemSpec, window_start
from hierskp.eval.tasks.dense import BACKGROUND, dense_split, embed_frames, frame_labels, iter_video_windows
from hierskp.runs.model import frozen_baseline
from tests.fixtures.synthetic_cache import make_synthetic_cache


class MeanEmbedder:
    """Window mean, unnormalised: frame i's embedding is readable on a ramp cache."""

    method = "mean"

    def clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


class CountingFeatures:
    """A [T, D] array that records the row ranges read from it."""

    def __init__(self, data: np.ndarray):
        self.data, self.shape, self.reads = data, data.shape, []

    def __getitem__(self, key: slice) -> np.ndarray:
        self.reads.append((key.start, key.stop))
        return self.data[key]


def test_one_row_per_frame_with_centred_training_windows():
    n, width = 600, 4  # crosses two 256-row chunk boundaries
    ramp = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)
    feats = CountingFeatures(ramp)
    out = embed_frames(MeanEmbedder(), feats, ItemSpec(frame_window=width), batch_frames=100)
    assert out.shape == (n, 3)
    expected = np.array([window_start(i, width, n) + (width - 1) / 2 for i in range(n)])
    np.testing.assert_allclose(out[:, 0], expected)
    assert expected[0] == 1.5 and expected[300] == 299.5 and expected[-1] == n - 2.5  # shifted, not cut, at the ends
    assert len(feats.reads) == 3 and max(b - a for a, b in feats.reads) <= 256 + width  # chunk + halo


def test_windows_longer_than_short_videos():
    wins = list(iter_video_windows(np.arange(6, dtype=np.float32).reshape(3, 2), width=8))
    assert [w.shape for w in wins] == [(3, 3, 2)]  # the window is the whole (3-frame) video


def test_frame_labels_from_segments():
    ts = np.arange(10, dtype=np.float64)
    labels = frame_labels(ts, np.array([[1.0, 3.0], [3.0, 6.5]]), ["a", "b"])
    assert labels.tolist() == ["", "a", "a", "b", "b", "b", "b", "", "", ""]
    assert BACKGROUND == ""


def test_dense_split_frozen_baseline(tmp_path):
    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=10, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 5))
    dense = dense_split(store, frozen_baseline(store), "test", progress=False)
    assert dense.video_ids == ["syn0004", "syn0009"] and dense.method == "frozen_baseline"
    for vid, emb, ts, lab in zip(dense.video_ids, dense.embeddings, dense.timestamps, dense.labels):
        rec = store.read_video(vid)
        assert emb.shape == (rec.n_frames, 16) and len(ts) == len(lab) == rec.n_frames
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
        assert (lab != BACKGROUND).all()  # synthetic operations tile the video
        assert lab[0] == rec.annotations["operations"][0]["label"]
    x, y, v = dense.stacked()
    assert len(x) == len(y) == len(v) == sum(len(e) for e in dense.embeddings)
    reopened = cs.open_cache(str(tmp_path / "c.zarr"))
    again = dense_split(reopened, frozen_baseline(reopened), "test", progress=False)
    np.testing.assert_array_equal(again.embeddings[0], dense.embeddings[0])  # deterministic


def test_dense_rows_are_the_frame_level_windows(tmp_path):
    """At a narration's frame, the dense embedding is the frame level's (evaluation) window embedding."""
    from hierskp.dataset.catalog import catalog
    from hierskp.eval.tasks.embed import embed_split

    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=5, seed=2, vision_dim=16, text_dim=24, op_frames=(3, 5))
    frame = embed_split(store, frozen_baseline(store), "test").levels["frame"]
    dense = dense_split(store, frozen_baseline(store), "test", progress=False)
    rows = np.concatenate([e.narr_rows for e in catalog(store, ["test"])])
    np.testing.assert_allclose(dense.embeddings[0][rows], frame.video, atol=1e-5)


def test_progress_in_a_log_is_plain_lines(tmp_path, monkeypatch, capsys):
    """Not a terminal (a log file, CI, a flow): no bar's cursor moves, a line every LOG_EVERY_S instead."""
    import hierskp.eval.tasks.dense as dense_mod

    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=10, vision_dim=4, op_frames=(2, 3))
    monkeypatch.setattr(dense_mod, "LOG_EVERY_S", 0.0)
    n = len(dense_split(store, frozen_baseline(store), "test", progress=True).video_ids)
    err = capsys.readouterr().err
    assert n and [line.split(" (")[0] for line in err.splitlines()] == [f"dense test: {i}/{n} videos" for i in range(n)]
    assert "\x1b[" not in err and "\r" not in err
    dense_split(store, frozen_baseline(store), "test", progress=False)
    assert capsys.readouterr().err == ""
