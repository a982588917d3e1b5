"""Decoders side by side: each installed backend decodes the same files in one run (--only: a subset); ratios against PyAV.

Files (20 s, 30 fps, a textured moving scene so the codec does real work): 720p and 1080p H.264 with a
10-s keyframe interval (as screen-recorded surgery often has), 720p HEVC and 720p AV1, same GOP.
Two access patterns: 1-fps sampling (what extraction does by default: a seek per sample inside long
GOPs) and every frame. Each cell is the best wall and CPU time of --repeat runs of `iter_frame_batches` in-process
(the decoder alone, no watchdog child, no backbone).

    python bench/bench_decode.py [--seconds 20] [--repeat 2] [--out bench/out]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time
from pathlib import Path

import numpy as np

FPS = 30
GOP_S = 10
FILES = {  # name: (width, height, codec, options)
    "h264_720p_gop10s": (1280, 720, "libx264", {"preset": "veryfast"}),
    "h264_1080p_gop10s": (1920, 1080, "libx264", {"preset": "veryfast"}),
    "hevc_720p_gop10s": (1280, 720, "libx265", {"preset": "ultrafast", "x265-params": "log-level=error"}),
    "av1_720p_gop10s": (1280, 720, "libsvtav1", {"preset": "12"}),
}


def make_video(path: Path, w: int, h: int, codec: str, options: dict, seconds: float) -> Path:
    from hierskp.synth.encode import encode_video

    if path.exists():
        return path
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([127 + 100 * np.sin(xx / 17), 127 + 100 * np.sin(yy / 11), 127 + 80 * np.sin((xx + yy) / 23)], -1)
    base = base.astype(np.uint8)

    def frames():  # the texture pans (motion the codec must encode) and a block moves across it
        for i in range(int(seconds * FPS)):
            frame = np.roll(base, (2 * i, 3 * i), axis=(0, 1))
            x = (7 * i) % (w - 64)
            frame[h // 3 : h // 3 + 64, x : x + 64] = (i * 5) % 256
            yield frame

    return encode_video(path, frames(), fps=FPS, codec=codec, options=options, gop_size=GOP_S * FPS)


def backends() -> dict[str, str | None]:
    """Backend -> None when usable here, else why not (the table says it)."""
    out: dict[str, str | None] = {"pyav": None, "decord": None}
    try:
        import decord

        out["decord"] = None if decord.__version__ else "no version"
    except ImportError as exc:
        out["decord"] = f"not installed ({exc})"
    if importlib.util.find_spec("torchcodec") is None:
        out["torchcodec"] = "not installed"
    else:
        try:
            import torchcodec.decoders  # noqa: F401
        except Exception as exc:  # the PyPI wheel links CUDA torch: OSError on a CPU torch
            out["torchcodec"] = f"cannot import ({str(exc).splitlines()[0]})"
    return out


def time_decode(path: Path, backend: str, fps: float, repeat: int) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds of this process, frames): CPU time (all decoder threads) is the
    steadier number on a shared machine."""
    from hierskp.video import iter_frame_batches

    best, cpu, n = float("inf"), float("inf"), 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        with iter_frame_batches(path, fps=fps, batch_size=32, backend=backend) as it:
            n = sum(len(b) for b in it)
            assert it.backend == backend, (it.backend, it.fallback_reason)
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return best, cpu, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--only", nargs="*", choices=sorted(FILES), default=None, help="these files (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    usable = backends()
    names = [b for b, why in usable.items() if why is None]
    rows = []
    for name, (w, h, codec, options) in FILES.items():
        if args.only and name not in args.only:
            continue
        path = make_video(out / f"decode_{name}_{int(args.seconds)}s.mp4", w, h, codec, options, args.seconds)
        for label, fps in (("1 fps", 1.0), ("all frames", float(FPS))):
            cell = {"file": name, "pattern": label}
            for b in names:
                seconds, cpu, n = time_decode(path, b, fps, args.repeat)
                cell[b] = {"s": round(seconds, 3), "cpu_s": round(cpu, 3), "frames": n}
            rows.append(cell)
            print(json.dumps(cell), flush=True)
    result = {"machine": platform.processor() or platform.machine(), "unusable": usable, "rows": rows}
    suffix = "_" + "_".join(args.only) if args.only else ""
    (out / f"decode{suffix}.json").write_text(json.dumps(result, indent=1))
    others = [b for b in names if b != "pyav"]
    head = [f"{b} wall s / CPU s" for b in names] + [f"{b} / pyav (CPU)" for b in others]
    print("\n| file | pattern | frames | " + " | ".join(head) + " |")
    print("|" + "---|" * (3 + len(head)))
    for r in rows:
        secs = " | ".join(f"{r[b]['s']:.2f} / {r[b]['cpu_s']:.2f}" for b in names)
        ratios = " | ".join(f"{r[b]['cpu_s'] / r['pyav']['cpu_s']:.2f}" for b in others)
        print(f"| {r['file']} | {r['pattern']} | {r['pyav']['frames']} | {secs} | {ratios} |")
    for b, why in usable.items():
        if why is not None:
            print(f"\n{b}: {why}")


if __name__ == "__main__":
    main()
