"""`make bench`: every benchmark in bench/, one after the other, results under bench/out/.

    python bench/run_all.py [--out bench/out] [--only soft_dtw training ...]

Benchmarks that need a cache get the demo corpus (48 videos, generated and extracted once into OUT).
`bench_evaluate.py` compares against a checkout of older code (`--baseline-root`) and is run by hand.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# scale: the small default (N = 10 and 40 videos); `bench_scale.py --n 100 1243 10000` by hand
STANDALONE = ("soft_dtw", "train_step", "encode", "extract", "rerun", "faiss", "scale")
ON_CACHE = ("training", "order_terms")


def _run(cmd: list[str]) -> int:
    print("\n$ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    print(f"-> exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
    return rc


def demo_cache(out: Path) -> tuple[Path, Path]:
    """The demo corpus and its cache in OUT (reused when already there)."""
    corpus, cache = out / "demo_corpus", out / "demo_cache.zarr"
    manifest = corpus / "manifest.jsonl"
    if not manifest.exists():
        _run([sys.executable, "-m", "hierskp.cli", "synth", "--preset", "demo", "--videos", "48", "--out", str(corpus)])
    _run([sys.executable, "-m", "hierskp.cli", "extract", "--manifest", str(manifest), "--cache", str(cache)])
    return manifest, cache


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--only", nargs="+", choices=[*STANDALONE, *ON_CACHE, "gpu_check"], default=None)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = args.only or [*STANDALONE, *ON_CACHE, "gpu_check"]
    failed = []
    for name in [n for n in STANDALONE if n in chosen]:
        if _run([sys.executable, str(HERE / f"bench_{name}.py")]):
            failed.append(name)
    if any(n in chosen for n in ON_CACHE):
        manifest, cache = demo_cache(out)
        if "training" in chosen and _run(
            [sys.executable, str(HERE / "bench_training.py"), "--cache", str(cache), "--manifest", str(manifest)]
        ):
            failed.append("training")
        if "order_terms" in chosen and _run(
            [
                sys.executable,
                str(HERE / "bench_order_terms.py"),
                "--cache",
                str(cache),
                "--out",
                str(out / "order_terms.json"),
            ]
        ):
            failed.append("order_terms")
    if "gpu_check" in chosen and _run([sys.executable, str(HERE / "gpu_check.py")]):
        failed.append("gpu_check")
    print(f"\nbenchmarks done; failed: {', '.join(failed) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
