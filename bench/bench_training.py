"""Stage-2 benchmark: one training epoch on the feature cache vs an epoch that recomputes the features
(decode + frozen backbone forward over the same frames), for the embedded backbone and a
ViT-B/16-sized one; plus peak RSS of training on a small and a 4x larger cache.

    python bench/bench_training.py --cache demo.zarr --manifest corpus/manifest.jsonl [--out bench/out/training.json]

The recompute epoch = the cache epoch (same heads, same steps) + decode/forward time of every frame the
epoch's videos hold; the per-frame decode/forward cost is measured on a few videos and scaled. Both are
reported as wall and CPU seconds; all torch work runs on one thread (see TrainConfig.threads).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cache_schema import open_cache
from hierskp.dataset.batch import collate
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset
from hierskp.ingest.manifest import load_manifest
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train import load_config
from hierskp.train.objective import compute_losses
from hierskp.train.sampling import StepBatchSampler, steps_per_epoch
from hierskp.train.state import item_spec, param_groups


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def cache_epoch(cache: str) -> dict:
    """One epoch of real training steps (data reads included) after one warm-up step."""
    cfg = load_config(None, [], cache=cache, out="-")
    store = open_cache(cache)
    index = catalog(store, cfg.data.train_splits)
    first = store.read_video(index[0].video_id)
    model = HierSKPHeads(
        HeadsConfig(
            **cfg.model.model_dump(),
            vision_dim=int(first.features.shape[1]),
            text_dim=int(first.text_video().shape[-1]),
        )
    )
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    ds = CacheVideoDataset(cache, index, item_spec(cfg))
    spe = steps_per_epoch(len(index), cfg.data.batch_videos)
    batches = list(StepBatchSampler([e.procedure for e in index], cfg.data.batch_videos, 0, spe + 1))
    used = sorted({i for b in batches[1:] for i, _ in b})

    def step(keys) -> None:  # type: ignore[no-untyped-def]
        loss, _ = compute_losses(model, collate([ds[k] for k in keys]), cfg.losses, torch.Generator().manual_seed(0))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(batches[0])
    w0, c0 = clocks()
    for b in batches[1:]:
        step(b)
    w1, c1 = clocks()
    return {
        "steps": spe,
        "videos": [index[i].video_id for i in used],
        "frames": int(sum(index[i].n_frames for i in used)),
        "vision_dim": int(first.features.shape[1]),
        "wall_s": w1 - w0,
        "cpu_s": c1 - c0,
    }


def vit_b16_dir(root: Path) -> str:
    """A ViT-B/16 (hidden 768, 12 layers, 224 px) with random weights, saved like a hub checkpoint."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    ViTModel(
        ViTConfig(
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            image_size=224,
            patch_size=16,
        ),
        add_pooling_layer=False,
    ).save_pretrained(root)
    ViTImageProcessor(size={"height": 224, "width": 224}).save_pretrained(root)
    return str(root)


def recompute_cost(backbone: str, label: str, videos: list[Path], max_frames: int) -> dict:
    """Decode at 1 fps + backbone forward, per frame, measured on up to `max_frames` frames."""
    from hierskp.backbones import load_vision_encoder
    from hierskp.video import iter_frame_batches

    enc = load_vision_encoder(backbone, device="cpu", dtype="float32")
    enc.encode(np.zeros((2, 96, 128, 3), np.uint8))  # warm-up
    frames = forward_s = cpu = 0.0
    for path in videos:
        for batch in iter_frame_batches(path, fps=1.0, batch_size=16):
            n = min(len(batch.frames), max_frames - int(frames))
            w1, c1 = clocks()
            enc.encode(batch.frames[:n])
            w2, c2 = clocks()
            forward_s += w2 - w1
            cpu += c2 - c1
            frames += n
            if frames >= max_frames:
                break
        if frames >= max_frames:
            break
    # decoding alone, timed separately over the same videos (it is not on the critical path above)
    w0, c0 = clocks()
    decoded = 0
    for path in videos:
        for batch in iter_frame_batches(path, fps=1.0, batch_size=16):
            decoded += len(batch.frames)
    w1, c1 = clocks()
    decode_s, decode_cpu = (w1 - w0) / decoded, (c1 - c0) / decoded
    return {
        "backbone": label,
        "dim": enc.dim,
        "frames_measured": int(frames),
        "forward_wall_per_frame_s": forward_s / frames,
        "forward_cpu_per_frame_s": cpu / frames,
        "decode_wall_per_frame_s": decode_s,
        "decode_cpu_per_frame_s": decode_cpu,
    }


def widened_cache(src: str, dst: str, dim: int = 768) -> str:
    """The same videos, texts and annotations with [T, dim] features (a fixed random projection):
    what a ViT-B-sized backbone's cache of this corpus would weigh."""
    s, d = open_cache(src), open_cache(dst, "a", fingerprint_id=f"widened-{dim}")
    proj = np.random.default_rng(0).normal(size=(open_cache(src).read_video(s.video_ids()[0]).features.shape[1], dim))
    for vid in s.video_ids():
        r = s.read_video(vid)
        w = d.begin_video(vid, r.provenance, r.annotations)
        w.append_frames(np.asarray(r.features[:], np.float32) @ proj / 16, r.timestamps())
        w.write_texts(r.text_video(), r.text_operations(), r.text_narrations())
        w.write_annotation_arrays(r.segments(), r.narration_times())
        w.finalize()
    return dst


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report this process's peak.
RSS_SNIPPET = """
import re, sys
from hierskp.train import load_config, train
train(load_config(None, ["max_steps=24", "evaluate=false", "data.batch_videos=8"], cache=sys.argv[1], out=sys.argv[2], progress=False))
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def peak_rss(tmp: Path, n_videos: int) -> dict:
    from tests.fixtures.synthetic_cache import make_synthetic_cache

    cache = tmp / f"rss{n_videos}.zarr"
    make_synthetic_cache(cache, n_videos=n_videos, vision_dim=768, text_dim=384, op_frames=(150, 400))
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    out = subprocess.run(
        [sys.executable, "-c", RSS_SNIPPET, str(cache), str(tmp / f"run{n_videos}")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    return {"videos": n_videos, "cache_mb": size / 2**20, "peak_rss_mb": int(out) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", default="bench/out/training.json")
    ap.add_argument("--embedded-frames", type=int, default=400)
    ap.add_argument("--vit-frames", type=int, default=24)
    args = ap.parse_args()
    torch.set_num_threads(1)
    man = load_manifest(args.manifest)
    paths = {r.entry.video_id: man.video_path(r) for r in man.rows}
    res: dict = {"threads": 1}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        for name, cache, backbone, n in (
            ("embedded", args.cache, "embedded", args.embedded_frames),
            ("vit_b16", widened_cache(args.cache, str(tmp_p / "w.zarr")), vit_b16_dir(tmp_p / "vitb"), args.vit_frames),
        ):
            ep = cache_epoch(cache)
            rc = recompute_cost(backbone, name, [paths[v] for v in ep["videos"]], n)
            per_frame_wall = rc["forward_wall_per_frame_s"] + rc["decode_wall_per_frame_s"]
            per_frame_cpu = rc["forward_cpu_per_frame_s"] + rc["decode_cpu_per_frame_s"]
            rec_wall, rec_cpu = ep["wall_s"] + per_frame_wall * ep["frames"], ep["cpu_s"] + per_frame_cpu * ep["frames"]
            res[name] = {
                "cache_epoch": {k: v for k, v in ep.items() if k != "videos"},
                "recompute": rc,
                "recompute_epoch_wall_s": rec_wall,
                "recompute_epoch_cpu_s": rec_cpu,
                "speedup_wall": rec_wall / ep["wall_s"],
                "speedup_cpu": rec_cpu / ep["cpu_s"],
            }
            print(name, json.dumps(res[name], indent=1), flush=True)
        res["rss"] = [peak_rss(tmp_p, n) for n in (10, 40)]
        print("rss", res["rss"], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
