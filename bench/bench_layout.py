"""The cache layout at 10,000+ videos: file count, listing and open time, today's layout vs consolidated metadata.

    python bench/bench_layout.py --n 1243 10000 [--out DIR]

Writes a full cache of TEMPLATES videos (437 frames, 256-d; `bench_scale.write_cache`), counts its files
per video, then builds N-video caches of METADATA ONLY (every zarr.json of every video, copied and
renamed; no chunk files, the markers saying so) and times, in-process: one listing of `videos/` keys (what `verified.survey`
takes), reading every video's attributes through zarr (today's per-video open, what a reader without a
record does), writing consolidated metadata once (`CacheStore.consolidate`) and reading every video's
attributes from it, and `cache_schema.survey` with its record fresh (what `cache ls` does now).
Chunk files are not written: their count is per video and measured on the full cache.

    python bench/bench_layout.py --tree 10000 100000 [--out DIR]

`--tree`: the key checks at 100,000 videos, on a tree of the full cache's folders and file names per video
(every file a hard link to one empty file: a listing and a stat cost the same, the disk holds no data):
one walk of every folder (the check before this round), one stat of every recorded key (now), the listing of
`videos/` alone, and the same walk over the file count of a ragged layout (every video's rows appended to
shared arrays, an offsets index; 4,096-row chunks), the alternative measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - t0, 3), out


def metadata_only(full: Path, dest: Path, n: int) -> None:
    """An N-video cache holding every metadata document of `full` (copied per video), no chunks."""
    import zarr

    from cache_schema import commits, open_cache
    from tests.fixtures.synthetic_cache import split_of

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(full, dest, ignore=lambda d, names: [x for x in names if x == "videos"])
    zarr.open_group(str(dest / "videos"), mode="a", use_consolidated=False)
    templates = sorted(p for p in (full / "videos").iterdir() if p.is_dir())
    root = open_cache(str(dest), "a").root
    for i in range(n):
        src, vid = templates[i % len(templates)], f"syn{i:05d}"
        for meta in src.rglob("zarr.json"):
            out = dest / "videos" / vid / meta.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            if meta == src / "zarr.json":
                doc = json.loads(meta.read_text())
                doc["attributes"]["annotations"] = {**doc["attributes"]["annotations"], "video_id": vid}
                doc["attributes"]["annotations"]["split"] = split_of(i)
                for entry in doc["attributes"]["complete"]["arrays"].values():
                    entry["chunks"] = 0  # the marker of a video whose chunks were never written: consistent
                with commits.marker_change(root, "commit", vid):
                    out.write_text(json.dumps(doc))
            else:
                shutil.copyfile(meta, out)


def measure(cache: Path) -> dict:
    from cache_schema import open_cache, survey
    from cache_schema import rawstore as raw

    store = open_cache(str(cache))
    res: dict = {"files": sum(len(f) for _, _, f in os.walk(cache))}
    res["list_keys_s"], keys = _timed(lambda: raw.list_prefix(store.root, "videos/"))
    res["keys"] = len(keys)
    res["open_every_video_s"], _ = _timed(lambda: [dict(store._videos()[v].attrs) for v in store.video_ids(None)])
    res["survey_first_s"], _ = _timed(lambda: survey(open_cache(str(cache))))
    res["survey_fresh_s"], _ = _timed(lambda: survey(open_cache(str(cache))))
    writer = open_cache(str(cache), "a")
    res["consolidate_s"], _ = _timed(writer.consolidate)

    def read_consolidated() -> int:
        import zarr

        g = zarr.open_group(str(cache), mode="r", use_consolidated=True)
        return len([dict(v.attrs) for _, v in g["videos"].groups()])

    res["open_consolidated_s"], _ = _timed(read_consolidated)
    res["consolidated_mib"] = round((cache / "zarr.json").stat().st_size / 2**20, 1)
    return res


def key_tree(full: Path, dest: Path, n: int) -> list[str]:
    """N video folders with the folder and file names of `full`'s first video; returns its keys."""
    shutil.rmtree(dest, ignore_errors=True)
    first = sorted(p for p in (full / "videos").iterdir() if p.is_dir())[0]
    keys = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    dirs = sorted({os.path.dirname(k) for k in keys})
    dest.mkdir(parents=True)
    for i in range(n):
        base = dest / "videos" / f"syn{i:06d}"
        for d in dirs:
            (base / d).mkdir(parents=True, exist_ok=True)
        for k in keys:
            os.link(_empty(dest, i * len(keys)), base / k)
    return keys


def _empty(dest: Path, links: int, prefix: str = "empty") -> Path:
    """An empty file to link to: a new one every 50,000 links (ext4 allows 65,000 an inode)."""
    path = dest / f"{prefix}{links // 50_000}"
    path.touch(exist_ok=True)
    return path


def measure_tree(dest: Path, keys: list[str], n: int, frames: int = 437, chunk_rows: int = 4096) -> dict:
    from cache_schema.rawstore import _walk

    videos = dest / "videos"
    cpu = lambda fn: _timed_cpu(fn)  # noqa: E731
    res = {"videos": n, "files": n * len(keys), "folders": n * len({os.path.dirname(k) for k in keys})}
    res["walk_cpu_s"], res["walk_s"] = cpu(lambda: _walk(videos))
    ids = sorted(os.listdir(videos))

    def stat_all() -> None:
        for v in ids:
            for k in keys:
                os.stat(f"{videos}/{v}/{k}")

    res["list_videos_cpu_s"], _ = cpu(lambda: os.listdir(videos))
    res["stat_keys_cpu_s"], res["stat_keys_s"] = cpu(stat_all)
    arrays = len([k for k in keys if "/c/" in k])  # one chunk each at 437 frames
    ragged = dest / "ragged"
    chunks = -(-n * frames // chunk_rows)
    for i in range(chunks * arrays):
        if i % 1000 == 0:
            (ragged / f"a{i // 1000}").mkdir(parents=True, exist_ok=True)
        os.link(_empty(dest, i, "ragged"), ragged / f"a{i // 1000}" / str(i))
    res["ragged_files"] = chunks * arrays
    res["ragged_walk_cpu_s"], _ = cpu(lambda: _walk(ragged))
    return res


def _timed_cpu(fn):  # type: ignore[no-untyped-def]
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return round(time.process_time() - c0, 2), round(time.perf_counter() - t0, 2)


def main_tree(sizes: list[int], out: Path) -> None:
    from bench_scale import MemoEncoder, write_cache

    from hierskp.backbones.text import load_text_encoder

    full = out / "full.zarr"
    shutil.rmtree(full, ignore_errors=True)
    write_cache(full, 1, MemoEncoder(load_text_encoder()))
    results = {}
    for n in sizes:
        dest = out / f"tree_{n}"
        t0 = time.perf_counter()
        keys = key_tree(full, dest, n)
        results[n] = {**measure_tree(dest, keys, n), "write_s": round(time.perf_counter() - t0, 1)}
        print(n, json.dumps(results[n]), flush=True)
        (out / "layout_tree.json").write_text(json.dumps(results, indent=1))
        shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(full, ignore_errors=True)


def main() -> None:
    from bench_scale import MemoEncoder, write_cache

    from hierskp.backbones.text import load_text_encoder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1243, 10000])
    ap.add_argument("--templates", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "layout"))
    ap.add_argument("--tree", type=int, nargs="+", help="the key checks on empty-file trees of these sizes")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tree:
        return main_tree(args.tree, out)
    full = out / "full.zarr"
    shutil.rmtree(full, ignore_errors=True)
    write_cache(full, args.templates, MemoEncoder(load_text_encoder()))
    per_video = {
        "files": sum(len(f) for _, _, f in os.walk(full / "videos")) / args.templates,
        "metadata_files": len(list((full / "videos").rglob("zarr.json"))) / args.templates,
    }
    results = {"full_cache_per_video": per_video, "metadata_only": {}}
    print(json.dumps(per_video), flush=True)
    for n in args.n:
        dest = out / f"meta_{n}.zarr"
        metadata_only(full, dest, n)
        results["metadata_only"][n] = measure(dest)
        print(n, json.dumps(results["metadata_only"][n]), flush=True)
        shutil.rmtree(dest, ignore_errors=True)
        (out / "layout.json").write_text(json.dumps(results, indent=1))
    shutil.rmtree(full, ignore_errors=True)


if __name__ == "__main__":
    main()
