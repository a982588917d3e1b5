"""A structured synthetic feature cache, written straight into the cache format (no video, no backbone).

For tests and benchmarks of stage 2 only. It keeps the property that matters for HierSKP: pairs of
procedures share one operation set in different orders, so only order separates them. Frame
features mix an operation prototype, an instrument prototype, per-video nuisance and noise;
text embeddings live in another space (another dimension), so nothing is aligned before training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cache_schema import CacheStore, open_cache

PROCEDURES: dict[str, tuple[str, ...]] = {
    "alpha": ("incision", "dissection", "exposure", "ligation", "resection", "closure"),
    "beta": ("incision", "exposure", "ligation", "dissection", "resection", "closure"),
    "gamma": ("incision", "dissection", "mesh", "resection", "hemostasis", "closure"),
    "delta": ("incision", "resection", "dissection", "hemostasis", "mesh", "closure"),
}
OPS = sorted({o for p in PROCEDURES.values() for o in p})
INSTRUMENTS = ("scalpel", "forceps", "scissors", "needle_driver", "retractor", "suction")
SYNONYMS = ("the surgeon performs", "now comes the", "we proceed with the")


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _norm(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def split_of(i: int) -> str:
    return "test" if i % 5 == 4 else ("train" if i % 5 == 3 else "pretrain")


def make_synthetic_cache(
    path: str | Path,
    n_videos: int = 20,
    seed: int = 0,
    vision_dim: int = 32,
    text_dim: int = 48,
    fps: float = 1.0,
    op_frames: tuple[int, int] = (4, 12),
    noise: float = 0.8,
    fingerprint_id: str = "synthetic-v1",
) -> CacheStore:
    """Write `n_videos` complete videos (split by index: every 5th is test) and return the store."""
    world = np.random.default_rng(12345)  # fixed "world": op X always looks (and reads) like X
    p_op, q_inst = _unit(world, len(OPS), vision_dim), _unit(world, len(INSTRUMENTS), vision_dim)
    t_op, t_inst = _unit(world, len(OPS), text_dim), _unit(world, len(INSTRUMENTS), text_dim)
    t_syn, t_proc = _unit(world, len(SYNONYMS), text_dim), _unit(world, len(PROCEDURES), text_dim)
    rng = np.random.default_rng(seed)
    store = open_cache(
        str(path),
        "a",
        fingerprint_id=fingerprint_id,
        backbone={"name": "synthetic", "dim": vision_dim},
        text_backbone={"name": "synthetic", "dim": text_dim},
    )
    names = sorted(PROCEDURES)
    for i in range(n_videos):
        proc = names[i % len(names)]
        ops = list(PROCEDURES[proc])
        if rng.random() < 0.5:  # an optional step is skipped now and then
            del ops[int(rng.integers(1, len(ops) - 1))]
        lens = rng.integers(op_frames[0], op_frames[1] + 1, size=len(ops))
        nuisance = rng.normal(size=vision_dim) * 0.3
        feats, segs, frames, op_text_vecs, ops_ann = [], [], [], [], []
        t = 0
        for op, n in zip(ops, lens):
            o = OPS.index(op)
            insts = rng.choice(len(INSTRUMENTS), size=2, replace=False)
            for k in range(n):
                inst = insts[0] if k < n // 2 else insts[1]
                feats.append(
                    p_op[o]
                    + 0.5 * q_inst[inst]
                    + nuisance
                    + noise * rng.normal(size=vision_dim) / np.sqrt(vision_dim) * 4
                )
            segs.append((t / fps, (t + n) / fps))
            s = int(rng.integers(len(SYNONYMS)))
            ops_ann.append({"start": t / fps, "end": (t + n) / fps, "label": op, "text": f"{SYNONYMS[s]} {op}"})
            op_text_vecs.append(t_op[o] + 0.4 * t_syn[s])
            for half, inst in enumerate(insts):
                time = (t + (0.25 + 0.5 * half) * n) / fps
                frames.append((time, f"{INSTRUMENTS[inst]} during {op}", t_op[o] + 0.8 * t_inst[inst]))
            t += int(n)
        variant = int(rng.integers(2))
        text = f"{'a case of' if variant else 'an open'} {proc} procedure"
        video_vec = (
            t_proc[names.index(proc)] + 0.3 * t_syn[variant] + 0.3 * np.mean([t_op[OPS.index(o)] for o in ops], 0)
        )
        ann = {
            "video_id": f"syn{i:04d}",
            "video": f"videos/syn{i:04d}.mp4",
            "split": split_of(i),
            "procedure": proc,
            "text": text,
            "operations": ops_ann,
            "frames": [{"time": f[0], "text": f[1]} for f in frames],
        }
        w = store.begin_video(ann["video_id"], {"synthetic_seed": seed}, ann)
        w.append_frames(np.asarray(feats, dtype=np.float32), np.arange(len(feats)) / fps)
        w.write_texts(
            _norm(video_vec[None]),
            _norm(np.asarray(op_text_vecs)),
            _norm(np.asarray([f[2] for f in frames]) + 0.1 * rng.normal(size=(len(frames), text_dim))),
        )
        w.write_annotation_arrays(np.asarray(segs), np.asarray([f[0] for f in frames]))
        w.finalize()
    return store
