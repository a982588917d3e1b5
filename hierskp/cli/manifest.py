"""`hierskp manifest validate|from-activitynet|from-cholec80|from-autolaparo|from-m2cai16`."""

from __future__ import annotations

import argparse

from hierskp.ingest.manifest import SPLITS

WORKFLOW_HELP = {
    "cholec80": "Cholec80 phase files (videoNN-phase.txt: 'Frame<TAB>Phase', one row per video frame, phase names)",
    "autolaparo": "AutoLaparo labels (XX.txt or label_XX.txt: 'Frame<TAB>Phase', one row per second, ids 1..7)",
    "m2cai16": "M2CAI16 workflow labels (NAME.txt: 'Frame<TAB>Phase', phase names; per frame, or --fps 1 per second)",
}
ROW_RATE = {
    "cholec80": "the video's own frame rate, read from the file",
    "autolaparo": "1, the numbers are seconds",
    "m2cai16": "the video's own frame rate, read from the file",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "manifest",
        help="check a manifest of your videos, or build one from ActivityNet JSON or Cholec80/AutoLaparo/M2CAI16 labels",
        description="A manifest (JSON Lines, one video per line) says which videos to extract and how they "
        "are annotated; see the README's Manifest section for the format.",
    )
    msub = p.add_subparsers(
        dest="manifest_command",
        required=True,
        metavar="{validate,from-activitynet,from-cholec80,from-autolaparo,from-m2cai16}",
    )
    val = msub.add_parser(
        "validate", help="check every line; each problem is named by line, field and value (exit 1 if any)"
    )
    val.add_argument("manifest", help="manifest.jsonl")
    val.add_argument(
        "--no-check-files",
        dest="check_files",
        action="store_false",
        help="skip the file checks: each video exists, is a regular file, stays in the dataset folder, and no "
        "file is listed under two ids (default: checked)",
    )
    val.add_argument(
        "--allow-outside-dataset",
        action="store_true",
        help="accept videos that resolve outside the manifest's folder (default: off, confined)",
    )
    val.add_argument(
        "--allow-overlapping-operations",
        action="store_true",
        help="accept operations that overlap in time (default: off, refused)",
    )
    imp = msub.add_parser("from-activitynet", help="fill the operation level from ActivityNet-style JSON")
    imp.add_argument("annotations", help="ActivityNet-style JSON (database -> video id -> annotations)")
    imp.add_argument("--videos", required=True, help="folder holding <video_id>.<ext>")
    imp.add_argument("--out", required=True, help="manifest.jsonl to write (paths relative to its folder)")
    imp.add_argument("--procedure", default="unknown", help="procedure name of every video (default: unknown)")
    for name, text in WORKFLOW_HELP.items():
        _add_workflow(msub, name, text)
    p.set_defaults(func=run)


def _add_workflow(msub: argparse._SubParsersAction, name: str, text: str) -> None:
    from hierskp.ingest.workflow import FORMATS

    fmt = FORMATS[name]
    w = msub.add_parser(
        f"from-{name}",
        help=f"operations from {text}",
        description=f"One manifest line per label file: runs of equal phases become operations. Input: {text}.",
    )
    w.add_argument("labels", nargs="+", help=f"label files, or folders of them ({fmt.pattern})")
    w.add_argument("--videos", required=True, help="folder holding the video of each label file (<video_id>.<ext>)")
    w.add_argument("--out", required=True, help="manifest.jsonl to write (paths relative to its folder)")
    w.add_argument(
        "--fps",
        type=float,
        default=None,
        help=f"rate of the files' Frame numbers, per second (default: {ROW_RATE[name]})",
    )
    w.add_argument(
        "--label-map",
        default=None,
        help="YAML/JSON mapping of the phase value in the files -> label name (default: "
        + ("the built-in AutoLaparo ids 1..7" if fmt.label_map else "none, the files' names are the labels")
        + "); a value it lacks is an error",
    )
    w.add_argument(
        "--split",
        default="official",
        choices=("official", *SPLITS),
        help="split of every video (default: official, the dataset's published split by video number)",
    )
    w.add_argument("--procedure", default=None, help=f"procedure name of every video (default: {fmt.procedure})")
    w.set_defaults(workflow_format=name)


def run(args: argparse.Namespace) -> int:
    from hierskp.ingest.activitynet import import_activitynet
    from hierskp.ingest.manifest import ManifestError, load_manifest
    from hierskp.ingest.workflow import import_workflow

    try:
        if args.manifest_command == "validate":
            from hierskp.ingest.manifest_checks import file_problems

            m = load_manifest(args.manifest, allow_overlap=args.allow_overlapping_operations)
            problems = file_problems(m, args.allow_outside_dataset) if args.check_files else []
            if problems:
                raise ManifestError(m.path, problems)
            checked = "videos checked" if args.check_files else "files not checked"
            print(f"{args.manifest}: {len(m.rows)} video(s), valid ({checked})")
        elif args.manifest_command == "from-activitynet":
            out = import_activitynet(args.annotations, args.videos, args.out, procedure=args.procedure)
            print(f"wrote {out}")
        else:
            out = import_workflow(
                args.workflow_format,
                args.labels,
                args.videos,
                args.out,
                fps=args.fps,
                label_map=args.label_map,
                split=args.split,
                procedure=args.procedure,
            )
            print(f"wrote {out}: {sum(1 for _ in out.open())} video(s)")
    except ManifestError as exc:
        print(str(exc))
        return 1
    except ValueError as exc:  # --fps <= 0
        print(f"hierskp manifest: {exc}")
        return 2
    return 0
