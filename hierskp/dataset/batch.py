"""Collation of per-video items into one padded batch spanning the three levels."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from hierskp.dataset.procedure_orders import reorder_to, twin_orders

from .catalog import text_key


@dataclass
class Batch:
    """Tensors of one batch. Video-level rows are videos (B); op rows (N_op) and narration rows
    (N_f) are concatenated over the batch's videos, with `*_video` pointing back to their row."""

    index: torch.Tensor  # [B] dataset index
    t_video: torch.Tensor  # [B, Dt]
    video_key: torch.Tensor  # [B]
    proc_key: torch.Tensor  # [B]
    seq: torch.Tensor  # [B, K, Dt] ordered operation texts
    seq_mask: torch.Tensor  # [B, K]
    seq_label_keys: torch.Tensor  # [B, K] (order duplicates are detected on labels)
    seq_key: torch.Tensor  # [B] id of the exact ordered step-text sequence
    t_ops: torch.Tensor  # [N_op, Dt]
    op_key: torch.Tensor  # [N_op]
    op_video: torch.Tensor  # [N_op]
    video: torch.Tensor | None = None  # [B, L, C, Dv] L clips of C frames
    video_clip_mask: torch.Tensor | None = None  # [B, L, C]
    video_mask: torch.Tensor | None = None  # [B, L] valid clips
    ops: torch.Tensor | None = None  # [N_op, Lo, Dv]
    ops_mask: torch.Tensor | None = None
    windows: torch.Tensor | None = None  # [N_f, W, Dv]
    windows_mask: torch.Tensor | None = None
    t_narr: torch.Tensor | None = None  # [N_f, Dt]
    narr_key: torch.Tensor | None = None
    narr_video: torch.Tensor | None = None
    narr_op: torch.Tensor | None = None  # [N_f] row in the op tensors, -1 outside any operation
    seq_twin: torch.Tensor | None = None  # [B, K] steps -> their twin order (identity without a twin)
    seq_twin_mask: torch.Tensor | None = None  # [B] the video has a twin order

    def _map(self, fn: Any) -> Batch:
        return Batch(
            **{f.name: (fn(v) if isinstance(v := getattr(self, f.name), torch.Tensor) else v) for f in fields(self)}
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """Every tensor field on `device`; `non_blocking` overlaps the copy when the batch is pinned."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        """Page-locked copies of every tensor field (torch's DataLoader calls this with pin_memory=True)."""
        return self._map(lambda t: t.pin_memory())


def pad_sequences(seqs: list[np.ndarray], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """List of [L_i, dim] -> ([N, L_max, dim] zero padded, [N, L_max] bool mask)."""
    n, length = len(seqs), max([len(s) for s in seqs] + [1])
    out = np.zeros((n, length, dim), dtype=np.float32)
    mask = np.zeros((n, length), dtype=bool)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
        mask[i, : len(s)] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


def pad_videos(videos: list[list[np.ndarray]], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Videos as lists of [C_i, dim] clips -> ([B, L, C, dim] zero padded, [B, L, C] bool mask)."""
    clips, clip_mask = pad_sequences([c for v in videos for c in v], dim)  # [sum L, C, D]
    n_pos = [len(v) for v in videos]
    video = torch.from_numpy(np.zeros((len(videos), max(n_pos), clips.shape[1], dim), np.float32))
    video_clip_mask = torch.from_numpy(np.zeros(video.shape[:3], dtype=bool))  # host tensors, built from numpy
    start = 0
    for b, n in enumerate(n_pos):
        video[b, :n], video_clip_mask[b, :n] = clips[start : start + n], clip_mask[start : start + n]
        start += n
    return video, video_clip_mask


def _cat(arrays: list[np.ndarray], dtype: Any, width: int | None = None) -> torch.Tensor:
    shape = (0,) if width is None else (0, width)
    parts = [np.asarray(a, dtype=dtype).reshape((-1,) + shape[1:]) for a in arrays]
    return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype))


def _longs(values: list[int]) -> torch.Tensor:
    return torch.from_numpy(np.asarray(values, dtype=np.int64))


TwinTable = dict[tuple[int, tuple[int, ...]], tuple[int, ...]]  # (proc key, label keys) -> twin label keys


def twin_table(entries: Any) -> TwinTable:
    """Twin orders mined from the annotations of `entries` (catalog entries: the training videos)."""
    return twin_orders((text_key(e.procedure), tuple(text_key(lab) for lab in e.op_labels)) for e in entries)


def twin_permutations(items: list[dict[str, Any]], twins: TwinTable, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, k] reorder of each video's steps into its twin order, identity where none; [B] has one)."""
    perm = np.tile(np.arange(k, dtype=np.int64), (len(items), 1))
    has = np.zeros(len(items), dtype=bool)
    for b, it in enumerate(items):
        labels = tuple(int(x) for x in it["op_label_keys"])
        twin = twins.get((int(it["proc_key"]), labels))
        if twin is not None:
            perm[b, : len(labels)], has[b] = reorder_to(labels, twin), True
    return torch.from_numpy(perm), torch.from_numpy(has)


def collate(items: list[dict[str, Any]], twins: TwinTable | None = None) -> Batch:
    """`twins` (from `twin_table`): also the twin-order permutations of the step sequences."""
    dt = int(items[0]["t_video"].shape[0])
    n_ops = [len(it["op_keys"]) for it in items]
    op_offset = np.concatenate([[0], np.cumsum(n_ops)[:-1]]).astype(np.int64)
    seq, seq_mask = pad_sequences([it["t_ops"] for it in items], dt)
    label_keys = np.zeros(seq_mask.shape, dtype=np.int64)
    for b, it in enumerate(items):
        label_keys[b, : n_ops[b]] = it["op_label_keys"]
    batch = Batch(
        index=_longs([it["index"] for it in items]),
        t_video=torch.from_numpy(np.stack([it["t_video"] for it in items])),
        video_key=_longs([it["video_key"] for it in items]),
        proc_key=_longs([it["proc_key"] for it in items]),
        seq=seq,
        seq_mask=seq_mask,
        seq_label_keys=torch.from_numpy(label_keys),
        seq_key=_longs([text_key(",".join(map(str, it["op_keys"].tolist()))) for it in items]),
        t_ops=_cat([it["t_ops"] for it in items], np.float32, dt),
        op_key=_cat([it["op_keys"] for it in items], np.int64),
        op_video=torch.from_numpy(np.repeat(np.arange(len(items)), n_ops).astype(np.int64)),
    )
    dv = next(
        (int(x.shape[-1]) for it in items for x in it.get("video", []) + it.get("ops", []) + it.get("windows", [])), 0
    )
    if twins is not None:
        batch.seq_twin, batch.seq_twin_mask = twin_permutations(items, twins, seq.shape[1])
    if "video" in items[0]:
        video, video_clip_mask = pad_videos([it["video"] for it in items], dv)
        batch.video, batch.video_clip_mask, batch.video_mask = video, video_clip_mask, video_clip_mask.any(-1)
    if "ops" in items[0]:
        batch.ops, batch.ops_mask = pad_sequences([o for it in items for o in it["ops"]], dv)
    if "windows" in items[0]:
        batch.windows, batch.windows_mask = pad_sequences([w for it in items for w in it["windows"]], dv)
        batch.t_narr = _cat([it["t_narr"] for it in items], np.float32, dt)
        batch.narr_key = _cat([it["narr_keys"] for it in items], np.int64)
        batch.narr_video = torch.from_numpy(np.repeat(np.arange(len(items)), [len(it["narr_keys"]) for it in items]))
        narr_op = [np.where(it["narr_op"] >= 0, it["narr_op"] + op_offset[b], -1) for b, it in enumerate(items)]
        batch.narr_op = _cat(narr_op, np.int64)
    return batch
