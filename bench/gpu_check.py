"""One script for a GPU box: run the whole CUDA path on a small corpus, one line per check.

    python bench/gpu_check.py                 # on a CUDA machine (about 2-4 minutes)
    python bench/gpu_check.py --device cpu    # the same checks on the CPU (a dry run of this script)

Without a CUDA device (and without ``--device cpu``) every check prints "no CUDA device: not measured"
and the script exits 0. A check that fails prints FAILED with the error and the exit code is 1.

Checks, all through the library's public functions:
  extract     synth corpus (``hierskp synth``) -> ``extract_manifest`` on the device with autocast;
              the fingerprint's dtype, preprocessing on the device, encode vs the CPU fp32 reference
  train_amp   ``train`` on a synthetic cache (the fixture the tests use) with AMP (amp=auto)
  train_step  time per training step: (t(N2 steps) - t(N1 steps)) / (N2 - N1), same config
  faiss       flat index of 200k x 256: placed on the GPU (shared resources), search q/s vs the CPU
  soft_dtw    ours (Triton kernels) vs pysdtw's CUDA kernel, B=64, 64 x 128, dim 256, fwd+bwd
  720p        extraction frames/s on a 1280x720 clip: decode alone, encode alone, both (prefetch)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHECKS: list[tuple[str, Callable[[Ctx], str]]] = []
NOT_MEASURED = "no CUDA device: not measured"


class Ctx:
    def __init__(self, device: torch.device, work: Path, quick: bool):
        self.device, self.work, self.quick = device, work, quick
        self.cuda = device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()


def check(name: str):  # type: ignore[no-untyped-def]
    def register(fn: Callable[[Ctx], str]) -> Callable[[Ctx], str]:
        CHECKS.append((name, fn))
        return fn

    return register


def synth(out: Path, videos: int, *extra: str) -> Path:
    if not (out / "manifest.jsonl").is_file():
        cmd = [sys.executable, "-m", "hierskp", "synth", "--out", str(out), "--videos", str(videos)]
        subprocess.run([*cmd, "--preset", "tiny", "--no-progress", *extra], check=True, capture_output=True)
    return out / "manifest.jsonl"


@check("extract")
def extract_check(ctx: Ctx) -> str:
    import cache_schema as cs
    from hierskp.backbones import load_vision_encoder
    from hierskp.extract import ExtractConfig, extract_manifest

    manifest = synth(ctx.work / "corpus", 4)
    cache = ctx.work / f"cache-{ctx.device.type}.zarr"
    t0 = time.perf_counter()
    summary = extract_manifest(
        ExtractConfig(manifest=manifest, cache=str(cache), device=ctx.device.type), progress=False
    )
    seconds = time.perf_counter() - t0
    if not summary.ok:
        raise RuntimeError(summary.render())
    dtype = cs.open_cache(str(cache)).info["backbone"]["dtype"]
    enc = load_vision_encoder("embedded", device=ctx.device.type)
    frames = np.random.default_rng(0).integers(0, 255, (16, 360, 640, 3), dtype=np.uint8)
    pix = enc.model_inputs(torch.from_numpy(frames))["pixel_values"]
    ref = load_vision_encoder("embedded", device="cpu", dtype="float32").encode(frames)
    out = enc.encode(frames)
    rel = float(((out - ref).norm(dim=1) / ref.norm(dim=1)).max())
    return (
        f"ok: {len(summary.ids('done'))} videos in {seconds:.1f} s, fingerprint dtype {dtype}, "
        f"preprocessing on {pix.device.type}, encode vs CPU fp32: max rel. error {rel:.1e}"
    )


def _train_cfg(ctx: Ctx, steps: int, out: Path):  # type: ignore[no-untyped-def]
    from hierskp.train import load_config
    from tests.fixtures.synthetic_cache import make_synthetic_cache

    cache = ctx.work / "train-cache.zarr"
    if not cache.exists():
        make_synthetic_cache(cache, n_videos=24, seed=0, vision_dim=256, text_dim=384)
    overrides = [
        f"max_steps={steps}",
        "evaluate=false",
        "checkpoint_every=100000",
        "amp=auto",
        f"threads={4 if ctx.cuda else 1}",
    ]
    return load_config(None, overrides, cache=str(cache), out=str(out), device=ctx.device.type, progress=False)


@check("train_amp")
def train_amp_check(ctx: Ctx) -> str:
    from hierskp.train import train

    t0 = time.perf_counter()
    run = train(_train_cfg(ctx, 10, ctx.work / "run-amp"))
    amp = "bf16/fp16 autocast" if ctx.cuda else "off (CPU)"
    return f"ok: 10 steps in {time.perf_counter() - t0:.1f} s (AMP {amp}), run at {run}"


@check("train_step")
def train_step_check(ctx: Ctx) -> str:
    from hierskp.train import train

    n1, n2 = (5, 15) if ctx.quick else (10, 60)
    times = []
    for n in (n1, n2):
        t0 = time.perf_counter()
        train(_train_cfg(ctx, n, ctx.work / f"run-{n}"))
        ctx.sync()
        times.append(time.perf_counter() - t0)
    return f"{(times[1] - times[0]) / (n2 - n1) * 1e3:.1f} ms per step (batch of the default config)"


@check("faiss")
def faiss_check(ctx: Ctx) -> str:
    from hierskp.index.build import build_index, search, to_device

    n = 20_000 if ctx.quick else 200_000
    rng = np.random.default_rng(0)
    xb = rng.normal(size=(n, 256)).astype(np.float32)
    q = xb[rng.choice(n, 1000, replace=False)] + 0.01
    cpu = build_index(xb, kind="flat", use_gpu=False)
    gpu = to_device(cpu) if ctx.cuda else cpu
    res = []
    for ei in (cpu, gpu):
        search(ei, q[:10], 10)
        t0 = time.perf_counter()
        _, ids = search(ei, q, 10)
        res.append((len(q) / (time.perf_counter() - t0), ids))
    agree = float((res[0][1] == res[1][1]).mean())
    where = "GPU" if gpu.on_gpu else "CPU"
    return f"index on {where}; flat search q/s: CPU {res[0][0]:.0f}, {where} {res[1][0]:.0f} ({res[1][0] / res[0][0]:.1f}x), top-10 agreement {agree:.3f}"


@check("soft_dtw")
def soft_dtw_check(ctx: Ctx) -> str:
    from bench_soft_dtw import cuda_rows

    if not ctx.cuda:
        return "CPU run: see bench/bench_soft_dtw.py for the CPU ratios"
    return cuda_rows(0.1, 5 if ctx.quick else 20).strip().lstrip("- ")


@check("720p")
def hd_check(ctx: Ctx) -> str:
    from hierskp.backbones import load_vision_encoder
    from hierskp.extract.prefetch import prefetch
    from hierskp.video import iter_frame_batches

    manifest = synth(ctx.work / "hd", 1, "--size", "1280x720")
    video = next((manifest.parent / "videos").glob("*.mp4"))
    fps, bs, side = 4.0, 64, 224
    enc = load_vision_encoder("embedded", device=ctx.device.type, batch_size=bs)

    def decode():  # type: ignore[no-untyped-def]
        return iter_frame_batches(video, fps=fps, batch_size=bs, short_side=side)

    t0 = time.perf_counter()
    batches = [b.frames for b in decode()]
    t_dec = time.perf_counter() - t0
    n = sum(len(b) for b in batches)
    enc.encode(batches[0])  # warm-up
    ctx.sync()
    t0 = time.perf_counter()
    for b in batches:
        enc.encode(b)
    ctx.sync()
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    for b in prefetch(decode):
        enc.encode(b.frames)
    ctx.sync()
    t_both = time.perf_counter() - t0
    return (
        f"{n} frames at {fps:g} fps, short side {side}, batch {bs}: decode alone {n / t_dec:.0f} frames/s, "
        f"encode alone {n / t_enc:.0f} frames/s, both {n / t_both:.0f} frames/s"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run of the checks")
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--only", action="append", help="run only these checks (repeatable)")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    names = [n for n, _ in CHECKS]
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"device: {NOT_MEASURED} (torch {torch.__version__})")
        for name in names:
            print(f"{name}: {NOT_MEASURED}")
        return 0
    dev = torch.device(args.device)
    if dev.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"device: cpu (dry run), torch {torch.__version__}")
    rc = 0
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        ctx = Ctx(dev, args.work or Path(tmp), args.quick)
        ctx.work.mkdir(parents=True, exist_ok=True)
        for name, fn in CHECKS:
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            try:
                msg = fn(ctx)
            except Exception as exc:  # noqa: BLE001 - report every check, then fail the exit code
                msg, rc = f"FAILED {type(exc).__name__}: {exc}", 1
            print(f"{name}: {msg} [{time.perf_counter() - t0:.1f} s]", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
