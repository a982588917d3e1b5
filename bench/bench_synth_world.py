"""`hierskp synth` from a world spec vs the code before world specs (built-in tables): CPU time of
generating the same demo videos in fresh processes, alternating, and whether the bytes are identical.

    python bench/bench_synth_world.py --before /path/to/checkout-before --after . [--videos 6] [--rounds 3]

Each round runs `generate_corpus(DIR, N, 0, "demo")` once per tree (PYTHONPATH=tree), measuring the
child's CPU time (on a shared box far less noisy than wall time) and hashing the MP4s and the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def generate(tree: str, videos: int) -> tuple[float, str]:
    out = Path(tempfile.mkdtemp())
    code = (
        f"from hierskp.synth import generate_corpus; generate_corpus({str(out)!r}, {videos}, 0, 'demo', progress=False)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": tree}, cwd=tree, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    digest = hashlib.sha256()
    for mp4 in sorted((out / "videos").iterdir()):
        digest.update(mp4.read_bytes())
    digest.update((out / "manifest.jsonl").read_bytes())
    return cpu, digest.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=".")
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[tuple[float, str]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for name in runs:
            runs[name].append(generate(str(Path(getattr(args, name)).resolve()), args.videos))
            print(name, runs[name][-1], flush=True)
    med = {k: sorted(c for c, _ in v)[len(v) // 2] for k, v in runs.items()}
    same = len({h for v in runs.values() for _, h in v}) == 1
    print(json.dumps({"cpu_seconds": med, "ratio_after_vs_before": med["after"] / med["before"], "identical": same}))


if __name__ == "__main__":
    main()
