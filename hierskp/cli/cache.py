"""`hierskp cache ls|show|validate|plot|export`: inspect a feature cache."""

from __future__ import annotations

import argparse

from hierskp.files import strict_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cache",
        help="look into a feature cache: list, show, validate, plot, export",
        description="Inspect a feature cache written by `hierskp extract` (a local path or an fsspec URL).",
    )
    csub = p.add_subparsers(dest="cache_command", required=True, metavar="{ls,show,validate,plot,export}")
    ls = csub.add_parser(
        "ls",
        help="one line per video: status, frames, feature size, decoder, fingerprint (the status of each video's "
        "last check where no writer changed it since; `validate` re-lists every chunk)",
    )
    ls.add_argument("cache", help="cache path or URL")
    show = csub.add_parser("show", help="everything about the cache, or about one video, as JSON")
    show.add_argument("cache", help="cache path or URL")
    show.add_argument("video_id", nargs="?", help="one video (default: the whole cache)")
    val = csub.add_parser("validate", help="check that every video is complete and consistent; exit 1 if not")
    val.add_argument("cache", help="cache path or URL")
    val.add_argument(
        "--shallow",
        action="store_true",
        help="only the cheap check (shapes, chunk presence, fingerprints); the default also re-reads every "
        "value and compares the checksums recorded at completion",
    )
    val.add_argument(
        "--manifest",
        default=None,
        help="also report the manifest's videos missing from the cache (default: unset, no manifest check)",
    )
    plot = csub.add_parser(
        "plot",
        help="one PNG of a video: features over time, its operations, frame self-similarity",
        description="Draw one video of the cache: its features over time as a colour strip (3 principal "
        "components as RGB), the annotated operations and narrations underneath on the same time axis, and "
        "the frame self-similarity matrix with the operation boundaries.",
    )
    plot.add_argument("cache", help="cache path or URL")
    plot.add_argument("video_id", help="the video to draw (see `hierskp cache ls`)")
    plot.add_argument("--out", required=True, help="PNG file to write")
    exp = csub.add_parser("export", help="write per-video [T, D] features for localization codebases (ActionFormer)")
    exp.add_argument("cache", help="cache path or URL")
    exp.add_argument("--format", choices=["hdf5", "npy"], required=True, help="one features.h5, or one .npy per video")
    exp.add_argument("--out", required=True, help="output folder (created if missing)")
    p.set_defaults(func=run)


def _show(store, video_id: str | None) -> dict:  # type: ignore[no-untyped-def]
    if video_id is None:
        from cache_schema import survey

        found = survey(store, listing=False)  # the record and the commit log: no listing of every chunk
        ids = {s: sorted(v for v, r in found.items() if r["status"] == s) for s in ("complete", "partial")}
        return {"url": store.url, **store.info, "videos": {s: len(v) for s, v in ids.items()}, "video_ids": ids}
    status, _, _, problems = store.inspect(video_id)
    if status in ("absent", "corrupt") and problems:
        return {"video_id": video_id, "status": status, "problems": problems}
    rec = store.read_video(video_id, allow_partial=True)
    arrays = {
        name: {
            "shape": list(rec.group[name].shape),
            "dtype": str(rec.group[name].dtype),
            "chunks": list(rec.group[name].chunks),
        }
        for name in (
            "frames/features",
            "frames/timestamps",
            "text/video",
            "text/operations",
            "text/narrations",
            "annotations/segments",
            "annotations/narration_times",
        )
        if name in rec.group
    }
    return {
        "video_id": video_id,
        "status": store.status(video_id),
        "complete": rec.completion,
        "provenance": rec.provenance,
        "arrays": arrays,
        "annotations": rec.annotations,
    }


def run(args: argparse.Namespace) -> int:
    from cache_schema import CacheError, open_cache, survey, validate_cache

    try:
        store = open_cache(args.cache, mode="r")
        if args.cache_command == "ls":
            print(f"{'video_id':32s} {'status':9s} {'frames':>7s} {'dim':>5s}  decoder  fingerprint")
            # only videos changed since the last check are read, and no chunk is listed (`validate` does)
            for vid, found in survey(store, listing=False).items():
                frames, dim = found.get("n_frames") or "-", found.get("feature_dim") or "-"
                print(
                    f"{vid:32s} {found['status']:9s} {frames!s:>7s} {dim!s:>5s}"
                    f"  {found.get('decoder') or '-':7s}  {found.get('fingerprint_id') or '-'}"
                )
            return 0
        if args.cache_command == "show":
            print(strict_json.dumps(_show(store, args.video_id), indent=1, default=str))
            return 0
        if args.cache_command == "validate":
            expected = None
            if args.manifest:
                from hierskp.ingest.manifest import load_manifest

                expected = [r.entry.video_id for r in load_manifest(args.manifest, allow_overlap=True).rows]
            report = validate_cache(store, deep=not args.shallow, expected=expected)
            counts = report.counts()
            print(
                f"{store.url}: fingerprint {report.fingerprint_id}; "
                f"{counts.get('complete', 0)} complete, {counts.get('partial', 0)} partial, "
                f"{counts.get('corrupt', 0)} damaged, {counts.get('absent', 0)} missing video(s)"
            )
            for problem in report.problems:
                print(f"  PROBLEM {problem}")
            print("cache is consistent" if report.ok else f"cache has {len(report.problems)} problem(s)")
            if not report.ok:
                from cache_schema.store import repair_command

                damaged = [v.video_id for v in report.videos if v.problems and v.status != "absent"]
                if damaged:
                    print(f"repair with: {repair_command(store, damaged)}")
            return 0 if report.ok else 1
        if args.cache_command == "plot":
            from hierskp.cache_views.plot import plot_video

            print(f"wrote {plot_video(store, args.video_id, args.out)}")
            return 0
        from hierskp.cache_views.export import export_features

        ids = export_features(store, args.out, args.format)
        print(f"exported {len(ids)} video(s) as {args.format} to {args.out}")
        return 0
    except (CacheError, KeyError, ValueError) as exc:
        print(f"hierskp cache: {exc}")
        return 2
