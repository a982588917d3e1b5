"""Encode-speed benchmark: ``python bench/bench_encode.py [--model embedded | --vit-b16 | PATH]``.

Reports frames/s for preprocessing alone, the model alone and ``encode`` end to end (best of
``--repeats``; the CPU may be shared). ``--vit-b16`` builds a randomly initialised ViT-B/16-sized
CLIP vision tower (224 px, patch 16, 12 layers, hidden 768) in a temp dir and loads it through
``load_vision_encoder`` like a real checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@dataclass
class BenchResult:
    model: str
    device: str
    dtype: str
    frames: int
    batch_size: int
    frame_hw: tuple[int, int]
    threads: int
    preprocess_fps: float
    model_fps: float
    encode_fps: float
    encode_frames_per_cpu_s: float  # frames per second of process CPU time: less sensitive to a shared CPU


def build_vit_b16(target: Path) -> Path:
    """Random ViT-B/16-sized CLIP vision tower + CLIP 224 preprocessing, saved like a checkpoint."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    config = CLIPVisionConfig(
        image_size=224,
        patch_size=16,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        projection_dim=512,
    )
    torch.manual_seed(0)
    CLIPVisionModelWithProjection(config).save_pretrained(target)
    CLIPImageProcessorPil(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(target)
    return target


def _best_fps(fn, n_frames: int, repeats: int, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return n_frames / best


def run_bench(
    model: str,
    frames: int = 256,
    batch_size: int = 32,
    height: int = 240,
    width: int = 320,
    device: str = "auto",
    dtype: str = "auto",
    repeats: int = 3,
) -> BenchResult:
    from hierskp.backbones import load_vision_encoder

    enc = load_vision_encoder(model, device=device, dtype=dtype, batch_size=batch_size)
    data = np.random.default_rng(0).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    batches = [torch.from_numpy(data[i : i + batch_size]) for i in range(0, frames, batch_size)]
    enc.encode(data[:batch_size])  # warm-up
    inputs = [enc.model_inputs(b) for b in batches]

    def model_only() -> None:
        with torch.inference_mode():
            for kwargs in inputs:
                enc.model(**kwargs)

    def prep_only() -> None:
        for b in batches:
            enc.model_inputs(b)

    sync = torch.cuda.synchronize if enc.device.type == "cuda" else (lambda: None)
    return BenchResult(
        model=enc.fingerprint["model"],
        device=str(enc.device),
        dtype=enc.fingerprint["dtype"],
        frames=frames,
        batch_size=batch_size,
        frame_hw=(height, width),
        threads=torch.get_num_threads(),
        preprocess_fps=_best_fps(lambda: (prep_only(), sync()), frames, repeats),
        model_fps=_best_fps(lambda: (model_only(), sync()), frames, repeats),
        encode_fps=_best_fps(lambda: enc.encode(data), frames, repeats),
        encode_frames_per_cpu_s=_best_fps(lambda: enc.encode(data), frames, repeats, time.process_time),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--vit-b16", action="store_true", help="benchmark a random ViT-B/16-sized tower")
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 is much faster for small models on a busy, shared CPU)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = str(build_vit_b16(Path(tmp) / "vit-b16-random")) if args.vit_b16 else args.model
        result = run_bench(
            model, args.frames, args.batch_size, args.height, args.width, args.device, args.dtype, args.repeats
        )
    if args.vit_b16:
        result.model = "random ViT-B/16-sized CLIP vision tower"
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
