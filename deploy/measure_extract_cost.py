"""Measure the per-video extraction cost that deploy/README.md's capacity plan is based on.

    python deploy/measure_extract_cost.py --manifest M --cache /tmp/cost.zarr [--backbone embedded]

Videos are extracted one at a time in this process, after the encoders are loaded (model
loading is a one-off per worker process and is reported separately). Prints, per video and
in total: sampled frames, wall seconds, CPU seconds, and seconds per minute of video.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from hierskp.extract import ExtractConfig, extract_video, open_extraction


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--cache", required=True, help="a fresh cache path (existing videos would be skipped)")
    ap.add_argument("--backbone", default="embedded")
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    cfg = ExtractConfig(
        manifest=args.manifest, cache=args.cache, backbone=args.backbone, fps=args.fps, device=args.device
    )
    t0, c0 = time.perf_counter(), _cpu()
    ctx = open_extraction(cfg)
    load = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(_cpu() - c0, 2)}
    rows = []
    for row in ctx.manifest.rows:
        t, c = time.perf_counter(), _cpu()
        out = extract_video(row, ctx)
        minutes = ctx.store.provenance(row.entry.video_id).get("duration_s", 0) / 60 if out.status == "done" else 0
        rows.append(
            {
                "video_id": out.video_id,
                "status": out.status,
                "frames": out.n_frames,
                "wall_s": round(time.perf_counter() - t, 3),
                "cpu_s": round(_cpu() - c, 3),
                "video_min": round(minutes, 2),
            }
        )
        print(json.dumps(rows[-1]))
    done = [r for r in rows if r["status"] == "done"]
    minutes = sum(r["video_min"] for r in done)
    total = {
        "videos": len(done),
        "frames": sum(r["frames"] for r in done),
        "video_min": round(minutes, 2),
        "wall_s": round(sum(r["wall_s"] for r in done), 2),
        "cpu_s": round(sum(r["cpu_s"] for r in done), 2),
    }
    if done:
        total.update(
            mean_wall_s_per_video=round(total["wall_s"] / len(done), 3),
            wall_s_per_video_min=round(total["wall_s"] / minutes, 3) if minutes else None,
            wall_ms_per_frame=round(1000 * total["wall_s"] / max(1, total["frames"]), 2),
        )
    print(json.dumps({"model_load": load, "total": total, "backbone": args.backbone, "fps": args.fps}, indent=1))


if __name__ == "__main__":
    main()
