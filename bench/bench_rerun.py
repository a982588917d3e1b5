"""Rerun of an up-to-date extraction vs the first run, same 12-video tiny corpus, same process setup.

    python bench/bench_rerun.py [--videos 12]

Both runs are `hierskp extract` CLI processes (start-up and imports included). The rerun loads no
model: the fingerprint comes from the remembered per-folder fingerprints (size + mtime of each file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _extract(manifest: Path, cache: Path, summary: Path) -> float:
    cmd = [sys.executable, "-m", "hierskp", "extract", "--manifest", str(manifest), "--cache", str(cache)]
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--no-progress", "--summary-json", str(summary)], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=12)
    args = ap.parse_args()
    from hierskp.synth import generate_corpus

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_corpus(root / "corpus", n_videos=args.videos, seed=3, config="tiny", progress=False)
        manifest, cache = root / "corpus" / "manifest.jsonl", root / "cache.zarr"
        first = _extract(manifest, cache, root / "first.json")
        rerun = _extract(manifest, cache, root / "rerun.json")
        s1, s2 = (json.loads((root / f"{n}.json").read_text()) for n in ("first", "rerun"))
    assert s1["done"] == args.videos and s2["skipped"] == args.videos, (s1, s2)
    skip_ms = 1000 * s2["wall_seconds"] / args.videos
    print(
        json.dumps(
            {
                "videos": args.videos,
                "first_s": round(first, 2),
                "rerun_s": round(rerun, 2),
                "ratio": round(rerun / first, 3),
                "skip_ms_per_video": round(skip_ms, 1),
                "rerun_inside_extract_s": s2["wall_seconds"],
            }
        )
    )


if __name__ == "__main__":
    main()
