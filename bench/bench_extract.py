"""Stage-1 benchmarks, each a ratio against a baseline measured in the same run.

1. Extraction wall time vs only decoding the same frames with the same decoder (goal <= 1.25x
   with the embedded backbone): the backbone must hide behind decoding.
2. Peak RSS of extracting a 1-minute vs a 30-minute video (goal: flat, within 1.2x): frames are
   streamed in bounded batches and features are flushed chunk by chunk.

    python bench/bench_extract.py [--quick] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_video(path: Path, minutes: float, fps: int = 25, size: tuple[int, int] = (320, 240)) -> Path:
    """A textured moving scene (so the codec does real work), written with libx264."""
    from hierskp.files.atomic import atomic_write
    from hierskp.synth.encode import encode_video

    if path.exists():
        return path
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n = int(minutes * 60 * fps)

    def frames():
        for i in range(n):
            phase = i / fps
            r = 127 + 100 * np.sin(xx / 17 + phase)
            g = 127 + 100 * np.sin(yy / 11 - 0.7 * phase + (i // (fps * 20)))
            b = 127 + 80 * np.sin((xx + yy) / 23 + 0.3 * phase)
            yield np.stack([r, g, b], -1).astype(np.uint8)

    options = {"preset": "veryfast", "crf": "28"}
    return atomic_write(
        path, lambda tmp: encode_video(tmp, frames(), fps=fps, gop_size=2 * fps, options=options), ".mp4"
    )


def write_manifest(folder: Path, video: Path, minutes: float) -> Path:
    entry = {
        "video_id": video.stem,
        "video": video.name,
        "split": "test",
        "procedure": "bench",
        "text": "a benchmark video",
        "operations": [{"start": 0, "end": minutes * 60 - 1, "label": "x", "text": "x"}],
        "frames": [],
    }
    manifest = folder / f"{video.stem}.jsonl"
    manifest.write_text(json.dumps(entry) + "\n")
    return manifest


def decode_only(video: Path, fps: float, batch_size: int, decoder: str) -> tuple[float, int]:
    from hierskp.video import iter_frame_batches

    t0 = time.perf_counter()
    n = 0
    with iter_frame_batches(video, fps=fps, batch_size=batch_size, backend=decoder) as reader:
        for batch in reader:
            n += len(batch.timestamps)
    return time.perf_counter() - t0, n


def extract_once(manifest: Path, cache: Path, fps: float, batch_size: int, decoder: str) -> tuple[float, int]:
    from hierskp.extract import ExtractConfig, extract_video, open_extraction

    ctx = open_extraction(
        ExtractConfig(manifest=manifest, cache=str(cache), fps=fps, batch_size=batch_size, decoder=decoder)
    )
    t0 = time.perf_counter()
    outcome = extract_video(ctx.manifest.rows[0], ctx)
    assert outcome.status == "done", outcome.error
    return time.perf_counter() - t0, outcome.n_frames


def extract_peak_rss(manifest: Path, cache: Path) -> dict[str, float]:
    """RSS (MiB) after loading the encoders, and the peak while extracting one video (sampled every 5 ms).

    ru_maxrss alone would be dominated by loading transformers and the models, hiding the video's share.
    """
    import threading

    import psutil

    from hierskp.extract import ExtractConfig, extract_video, open_extraction

    proc = psutil.Process()
    ctx = open_extraction(ExtractConfig(manifest=manifest, cache=str(cache)))
    loaded = proc.memory_info().rss
    peak, done = [loaded], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    outcome = extract_video(ctx.manifest.rows[0], ctx)
    done.set()
    sampler.join()
    assert outcome.status == "done", outcome.error
    return {"after_load_mib": loaded / 2**20, "peak_mib": peak[0] / 2**20, "frames": outcome.n_frames}


def peak_rss_child(manifest: Path, cache: Path) -> dict[str, float]:
    """The measurement in a fresh process, so one video's allocations never flatter the other's."""
    code = (
        "import sys,json;from pathlib import Path;"
        "sys.path.insert(0, {!r});from bench_extract import extract_peak_rss;"
        "print(json.dumps(extract_peak_rss(Path({!r}), Path({!r}))))"
    ).format(str(ROOT / "bench"), str(manifest), str(cache))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 and 6 minute videos instead of 5 and 30")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import shutil

    short_min, long_min, speed_min = (1.0, 6.0, 3.0) if args.quick else (1.0, 30.0, 5.0)
    rows = []
    speed_video = make_video(out / f"bench_{speed_min:g}min.mp4", speed_min)
    speed_manifest = write_manifest(out, speed_video, speed_min)
    for decoder in ("decord", "pyav"):
        dec, ext = [], []
        for r in range(args.repeats):
            dec.append(decode_only(speed_video, 1.0, 32, decoder)[0])
            cache = out / f"speed_{decoder}_{r}.zarr"
            shutil.rmtree(cache, ignore_errors=True)
            seconds, n = extract_once(speed_manifest, cache, 1.0, 32, decoder)
            ext.append(seconds)
            shutil.rmtree(cache, ignore_errors=True)
        d, e = float(np.median(dec)), float(np.median(ext))
        # rounds are interleaved (decode, extract, decode, ...): the median per-round ratio resists load drift
        ratio = float(np.median(np.array(ext) / np.array(dec)))
        rows.append(
            {
                "decoder": decoder,
                "video_min": speed_min,
                "frames": n,
                "decode_s": round(d, 3),
                "extract_s": round(e, 3),
                "ratio": round(ratio, 3),
            }
        )
        print(rows[-1], flush=True)
    mem = {}
    for minutes in (short_min, long_min):
        video = make_video(out / f"bench_{minutes:g}min.mp4", minutes)
        cache = out / f"mem_{minutes:g}.zarr"
        shutil.rmtree(cache, ignore_errors=True)
        mem[minutes] = peak_rss_child(write_manifest(out, video, minutes), cache)
        shutil.rmtree(cache, ignore_errors=True)
        print({"video_min": minutes, **mem[minutes]}, flush=True)
    growth = {m: v["peak_mib"] - v["after_load_mib"] for m, v in mem.items()}
    result = {
        "speed": rows,
        "memory": mem,
        "peak_ratio": round(mem[long_min]["peak_mib"] / mem[short_min]["peak_mib"], 3),
        "growth_during_extraction_mib": growth,
        "machine": f"{sys.platform}, {__import__('os').cpu_count()} cores, CPU only",
    }
    (out / "extract.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
