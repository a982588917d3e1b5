"""What a user's commands cost as the library grows: N-video caches written straight into the cache format.

    python bench/bench_scale.py --n 100 1243 [--out DIR] [--skip evaluate] [--keep]

For each N a cache of N videos (437 frames each at 1 fps, 256-d vision, texts embedded by the default
text encoder, memoised: the synthetic texts repeat) is written with `tests/fixtures/synthetic_cache.py`,
then each stage runs as a user runs it, one `hierskp` process each (start-up included): `cache validate`
(deep and --shallow), `cache ls`, `cache show`, a 20-step `train` (its run serves search and
evaluate) and a second one on the same cache (the nightly retrain: its start-up reads only what changed), `evaluate`, `search` first (index build) and repeated (index on disk), plus in-process search
(a new library over the built index, and a second query on the same library) and the nightly retrain's
"what is new" pass (`hierskp.extract.corpus_diff.diff_corpus`, the same per-video rule as extract's skip pass)
over a manifest of N tiny files. Reported per stage: seconds, peak RSS of the process (MiB), and per N:
files in the cache. Growth is the ratio of the largest N to the smallest, measured in the same run.
Writes OUT/scale.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FRAMES = 437  # the paper's 151 h over 1,243 videos at 1 fps
OP_FRAMES = (60, 99)  # 5.5 operations a video on average -> ~437 frames
VISION_DIM = 256
# the baseline code searches with this code's run, whose index it loads (same source fingerprint), and
# leaves out the stages whose cost per video the issue measured already
BEFORE_SKIP = ("search_first", "validate_shallow", "cache_show", "train_20_again")
TEMPLATES = 8  # videos written by the synthetic writer; the others copy their groups
QUERY = "the surgeon performs dissection"


class MemoEncoder:
    """The default text encoder with a memo: synthetic captions repeat, so each string is embedded once."""

    def __init__(self, enc: Any):
        self.enc, self.memo = enc, {}
        self.dim, self.fingerprint = enc.dim, enc.fingerprint

    def encode(self, texts: list[str]) -> Any:
        import torch

        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.enc.encode(todo)))
        return torch.stack([self.memo[t] for t in texts]) if texts else self.enc.encode(texts)


def write_cache(path: Path, n: int, encoder: Any) -> float:
    """TEMPLATES videos through the synthetic writer, then copies of their groups under new ids (the
    group's annotations renamed), each copy's marker change recorded in the commit log where the cache
    has one: the files and metadata of N written videos, at disk speed."""
    from cache_schema import open_cache
    from tests.fixtures.synthetic_cache import make_synthetic_cache, split_of

    t0 = time.perf_counter()
    k = min(n, TEMPLATES)
    make_synthetic_cache(path, n_videos=k, vision_dim=VISION_DIM, op_frames=OP_FRAMES, text_encoder=encoder)
    try:
        from cache_schema.commits import marker_change
    except ImportError:  # code from before the commit log
        marker_change = None
    root = open_cache(str(path), "a").root
    videos = path / "videos"
    for i in range(k, n):
        src, vid = videos / f"syn{i % k:04d}", f"syn{i:04d}"
        meta = json.loads((src / "zarr.json").read_text())
        ann = meta["attributes"]["annotations"]
        meta["attributes"]["annotations"] = {**ann, "video_id": vid, "video": f"videos/{vid}.mp4"}
        meta["attributes"]["annotations"]["split"] = split_of(i)
        shutil.copytree(src, videos / vid, ignore=shutil.ignore_patterns("zarr.json"), dirs_exist_ok=True)
        for sub in src.rglob("zarr.json"):
            if sub != src / "zarr.json":
                shutil.copyfile(sub, videos / vid / sub.relative_to(src))
        if marker_change is None:
            (videos / vid / "zarr.json").write_text(json.dumps(meta))
        else:
            with marker_change(root, "commit", vid):
                (videos / vid / "zarr.json").write_text(json.dumps(meta))
    return time.perf_counter() - t0


def write_manifest(cache: Path, folder: Path) -> Path:
    """A manifest of the cache's videos, each pointing at a tiny file (the diff reads sizes and hashes)."""
    from cache_schema import open_cache

    store = open_cache(str(cache))
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    lines = []
    for vid in store.video_ids(status=None):
        ann = store.read_video(vid, allow_partial=True).annotations
        (folder / ann["video"]).write_bytes(vid.encode())
        lines.append(json.dumps(ann))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def count_files(path: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def timed(cmd: list[str], log: Path, code_root: Path = ROOT) -> dict[str, Any]:
    """Run a process on the code at `code_root`: wall seconds, and its peak RSS in MiB from /usr/bin/time
    (wait4's counts the forked copy of this process too)."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    rss = log.with_name(f"rss.{os.getpid()}.txt")  # two bench runs may share --out
    load0 = os.getloadavg()[0]  # the box is shared: each number carries the load it ran under
    t0 = time.perf_counter()
    with log.open("ab") as fh:
        fh.write((f"\n$ PYTHONPATH={code_root} " + " ".join(cmd) + "\n").encode())
        fh.flush()
        wrapped = ["/usr/bin/time", "-o", str(rss), "-f", "%M %U %S", *cmd] if Path("/usr/bin/time").exists() else cmd
        rc = subprocess.call(wrapped, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=code_root)
    secs = time.perf_counter() - t0
    fields = rss.read_text().split()[-3:] if rss.exists() else []
    peak = int(fields[0]) // 1024 if len(fields) == 3 else None
    cpu = round(float(fields[1]) + float(fields[2]), 2) if len(fields) == 3 else None  # user + sys
    load = [round(load0, 1), round(os.getloadavg()[0], 1)]
    return {"s": round(secs, 2), "cpu_s": cpu, "rss_mib": peak, "rc": rc, "load": load}


def in_process_search(run: Path, cache: Path) -> dict[str, Any]:
    """A new library over the index built by the CLI (what a server does on start), then a second query."""
    import hierskp

    load0, cpu = os.getloadavg()[0], time.process_time
    t0, c0 = time.perf_counter(), cpu()
    lib = hierskp.search_library(run, cache)
    lib.search(QUERY, k=10)
    first, first_cpu = time.perf_counter() - t0, cpu() - c0
    lib.search(QUERY + " warm-up", k=10)
    t1, c1 = time.perf_counter(), cpu()
    lib.search(QUERY + " again", k=10)
    again, again_cpu = time.perf_counter() - t1, cpu() - c1
    t2, c2 = time.perf_counter(), cpu()
    hierskp.search_library(lib.model, lib.store).search(QUERY, k=10)  # new library, model and store kept
    fresh, fresh_cpu = time.perf_counter() - t2, cpu() - c2
    return {
        "new_library_s": round(first, 3),
        "new_library_cpu_s": round(first_cpu, 3),
        "same_library_s": round(again, 4),
        "same_library_cpu_s": round(again_cpu, 4),
        "new_library_warm_s": round(fresh, 4),
        "new_library_warm_cpu_s": round(fresh_cpu, 4),
        "rebuilt": lib.info["moment"].rebuilt,
        "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
    }


def diff_pass(manifest: Path, cache: Path) -> dict[str, Any]:
    from hierskp.extract.corpus_diff import diff_corpus

    t0 = time.perf_counter()
    diff = diff_corpus(manifest, str(cache))
    return {"s": round(time.perf_counter() - t0, 2), "counts": {k: len(v) for k, v in diff.as_dict().items()}}


def measure(
    n: int, out: Path, encoder: Any, skip: set[str], log: Path, baseline: Path | None, seeded: bool = False
) -> dict[str, Any]:
    """Every stage on this code, and (with `baseline`, a checkout of older code) on that code right after,
    on the same cache: both see the same machine load."""
    cache = out / f"cache_{n}.zarr"
    res: dict[str, Any] = {"n": n}
    if not cache.exists():
        res["write_s"] = round(write_cache(cache, n, encoder), 1)
    res["files"] = count_files(cache)
    if seeded:
        from scale_seed import copy_records

        res["copy_records"] = copy_records(cache, TEMPLATES)
        print(f"  N={n} copy_records: {res['copy_records']}", flush=True)
    roots = {"after": ROOT, **({"before": baseline} if baseline is not None else {})}
    res.update(run_stages(n, cache, out, skip, log, roots, seeded))
    return res


def stage_commands(cache: Path, run: Path, report: Path) -> dict[str, list[str]]:
    hs = [sys.executable, "-m", "hierskp"]
    return {
        "validate_deep": [*hs, "cache", "validate", str(cache)],
        "validate_shallow": [*hs, "cache", "validate", "--shallow", str(cache)],
        "cache_ls": [*hs, "cache", "ls", str(cache)],
        "cache_show": [*hs, "cache", "show", str(cache)],
        "train_20": [*hs, "train", "--cache", str(cache), "--out", str(run), "--no-progress"]
        + ["--set", "max_steps=20", "--set", "evaluate=false", "--set", "checkpoint_every=1000"],
        "train_20_again": [*hs, "train", "--cache", str(cache), "--out", f"{run}_again", "--no-progress"]
        + ["--set", "max_steps=20", "--set", "evaluate=false", "--set", "checkpoint_every=1000"],
        "search_first": [*hs, "search", "--run", str(run), "--cache", str(cache), QUERY],
        "search_repeat": [*hs, "search", "--run", str(run), "--cache", str(cache), QUERY],
        "search_repeat2": [*hs, "search", "--run", str(run), "--cache", str(cache), QUERY + " again"],
        "evaluate": [*hs, "evaluate", "--cache", str(cache), "--run", str(run), "--out", str(report)]
        + ["--no-progress"],
    }


def run_stages(
    n: int, cache: Path, out: Path, skip: set[str], log: Path, roots: dict[str, Path], seeded: bool = False
) -> dict[str, Any]:
    """Each stage on each code in turn (interleaved, so both see the same load); in-process stages on this code.
    `seeded`: the index is built per template (`scale_seed.seed_index`) in place of `search_first`."""
    res: dict[str, Any] = {code: {} for code in roots}
    runs = {code: out / f"run_{n}_{code}" for code in roots}
    for run in runs.values():
        shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(f"{run}_again", ignore_errors=True)
    for stage in stage_commands(cache, out, out):
        if stage in skip:
            continue
        for code, root in roots.items():
            if code == "before" and stage in BEFORE_SKIP:
                continue
            run = runs["after"] if stage.startswith("search") else runs[code]  # the same run and its index
            if seeded and stage == "search_first":
                from scale_seed import seed_index

                res[code]["seed_index"] = seed_index(run, cache, TEMPLATES)
                print(f"  N={n} seed_index: {res[code]['seed_index']}", flush=True)
                continue
            cmd = stage_commands(cache, run, out / f"report_{n}_{code}")[stage]
            res[code][stage] = timed(cmd, log, root)
            print(f"  N={n} {code} {stage}: {res[code][stage]}", flush=True)
    after = res["after"]
    if "search_in_process" not in skip and after.get("train_20", {}).get("rc") == 0:
        after["search_in_process"] = in_process_search(runs["after"], cache)
        print(f"  N={n} search_in_process: {after['search_in_process']}", flush=True)
    if "diff" not in skip:
        after["diff"] = diff_pass(write_manifest(cache, out / f"corpus_{n}"), cache)
        print(f"  N={n} diff: {after['diff']}", flush=True)
    return res


def table(results: list[dict[str, Any]], code: str = "after") -> str:
    results = [{"n": r["n"], "files": r["files"], **r[code]} for r in results if code in r]
    if not results:
        return ""
    keys = [k for k in results[0] if isinstance(results[0][k], dict) and "s" in results[0][k]]
    head = "| stage | " + " | ".join(f"N={r['n']}" for r in results) + " | per video | growth |"
    lines = [head, "|---|" + "---:|" * (len(results) + 2)]
    lo, hi = results[0], results[-1]
    for k in keys:
        if not all(k in r for r in results):
            continue
        cells = [
            f"{r[k]['s']:.2f} s, {r[k].get('cpu_s')} CPU-s ({r[k].get('rss_mib')} MiB, load {r[k].get('load')})"
            for r in results
        ]
        per = (hi[k]["s"] - lo[k]["s"]) / max(1, hi["n"] - lo["n"]) * 1000
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {per:.2f} ms | {hi[k]['s'] / lo[k]['s']:.2f}x |")
    lines.append("| files | " + " | ".join(str(r["files"]) for r in results) + " | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--n", type=int, nargs="+", default=[10, 40], help="library sizes (default: make bench's small pair)"
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "scale"))
    ap.add_argument("--json", default="scale.json", help="results file in --out")
    ap.add_argument("--skip", nargs="*", default=["evaluate"], help="stages to leave out (default: evaluate)")
    ap.add_argument("--baseline-root", help="a checkout of older code (git worktree/archive) run on the same caches")
    ap.add_argument("--keep", action="store_true", help="keep the caches (default: removed at the end)")
    ap.add_argument(
        "--seeded", action="store_true", help="first-time deep checks and search rows per template (scale_seed.py)"
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from hierskp.backbones.text import load_text_encoder

    encoder = MemoEncoder(load_text_encoder())
    results = []
    for n in args.n:
        baseline = Path(args.baseline_root).resolve() if args.baseline_root else None
        results.append(measure(n, out, encoder, set(args.skip), out / "commands.log", baseline, args.seeded))
        (out / args.json).write_text(json.dumps(results, indent=1))
        if not args.keep:
            for p in out.glob(f"*_{n}*"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
    for code in ("after", "before"):
        print(f"\n{code}:\n{table(results, code)}")


if __name__ == "__main__":
    main()
