"""`hierskp manifest validate|from-activitynet`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("manifest", help="validate a manifest, or build one from ActivityNet-style JSON")
    msub = p.add_subparsers(dest="manifest_command", required=True)
    val = msub.add_parser("validate")
    val.add_argument("manifest")
    imp = msub.add_parser("from-activitynet", help="fill the operation level from ActivityNet-style JSON")
    imp.add_argument("annotations")
    imp.add_argument("--videos", required=True, help="folder holding <video_id>.<ext>")
    imp.add_argument("--out", required=True, help="manifest.jsonl to write (paths relative to its folder)")
    imp.add_argument("--procedure", default="unknown")
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
