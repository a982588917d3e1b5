"""`hierskp extract`: stage 1 over a manifest."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="run the frozen backbone over a manifest's videos into a Zarr cache")
    p.add_argument("--manifest", required=True, help="manifest.jsonl")
    p.add_argument("--cache", required=True, help="cache path or fsspec URL (e.g. s3://bucket/cache.zarr)")
    p.add_argument("--backbone", default="embedded", help="vision model id, local path or 'embedded'")
    p.add_argument("--text-backbone", default="default", help="text model id, local path or 'default' (MiniLM)")
    p.add_argument("--fps", type=float, default=1.0)
    p.add_argument(
        "--batch-size",
        "--encoder-batch-size",
        dest="batch_size",
        type=int,
        default=32,
        help="frames per decoded batch and per backbone forward pass",
    )
    p.add_argument("--short-side", type=int, default=None, help="decode at this shorter side")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16", "float16"],
        help="backbone compute dtype (recorded in the cache fingerprint; auto: bf16 on CUDA, fp32 on CPU)",
    )
    p.add_argument("--decoder", default="auto", choices=["auto", "decord", "pyav"])
    p.add_argument("--torch-threads", type=int, default=None, help="CPU threads for the backbone (default: cores - 1)")
    p.add_argument("--video-id", action="append", dest="video_ids", help="only these ids (repeatable)")
    p.add_argument(
        "--stall-timeout-s", type=float, default=60.0, help="abandon a video whose decoder yields no frame this long"
    )
    p.add_argument(
        "--lease-s", type=float, default=120.0, help="claim lease per video (taken over after a writer dies)"
    )
    p.add_argument(
        "--allow-outside-dataset",
        action="store_true",
        help="accept video paths (after resolving symlinks) outside the manifest's folder",
    )
    p.add_argument("--summary-json", default=None, help="also write the summary here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cache_schema import CacheError
    from hierskp.data.manifest import ManifestError
    from hierskp.extract import ExtractConfig, extract_manifest

    try:
        cfg = ExtractConfig(
            manifest=args.manifest,
            cache=args.cache,
            backbone=args.backbone,
            text_backbone=args.text_backbone,
            fps=args.fps,
            batch_size=args.batch_size,
            short_side=args.short_side,
            device=args.device,
            dtype=args.dtype,
            decoder=args.decoder,
            torch_threads=args.torch_threads,
            video_ids=tuple(args.video_ids) if args.video_ids else None,
            stall_timeout_s=args.stall_timeout_s,
            lease_s=args.lease_s,
            allow_outside_dataset=args.allow_outside_dataset,
        )
        summary = extract_manifest(cfg, progress=not args.no_progress)
    except (ValidationError, ManifestError, CacheError) as exc:
        print(f"hierskp extract: {exc}")
        return 2
    print(summary.render())
    if args.summary_json:
        with open(args.summary_json, "w") as fh:
            json.dump(summary.as_dict(), fh, indent=1)
    return 0 if summary.ok else 1
