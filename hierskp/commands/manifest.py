"""`hierskp manifest validate|from-activitynet`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "manifest",
        help="check a manifest of your videos, or build one from ActivityNet-style JSON",
        description="A manifest (JSON Lines, one video per line) says which videos to extract and how they "
        "are annotated; see the README's Manifest section for the format.",
    )
    msub = p.add_subparsers(dest="manifest_command", required=True, metavar="{validate,from-activitynet}")
    val = msub.add_parser(
        "validate", help="check every line; each problem is named by line, field and value (exit 1 if any)"
    )
    val.add_argument("manifest", help="manifest.jsonl")
    imp = msub.add_parser("from-activitynet", help="fill the operation level from ActivityNet-style JSON")
    imp.add_argument("annotations", help="ActivityNet-style JSON (database -> video id -> annotations)")
    imp.add_argument("--videos", required=True, help="folder holding <video_id>.<ext>")
    imp.add_argument("--out", required=True, help="manifest.jsonl to write (paths relative to its folder)")
    imp.add_argument("--procedure", default="unknown", help="procedure name of every video (default: unknown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hierskp.data.activitynet import import_activitynet
    from hierskp.data.manifest import ManifestError, load_manifest

    try:
        if args.manifest_command == "validate":
            m = load_manifest(args.manifest)
            print(f"{args.manifest}: {len(m.rows)} video(s), valid")
        else:
            out = import_activitynet(args.annotations, args.videos, args.out, procedure=args.procedure)
            print(f"wrote {out}")
    except ManifestError as exc:
        print(str(exc))
        return 1
    return 0
