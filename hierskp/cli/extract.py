"""`hierskp extract`: stage 1 over a manifest."""

from __future__ import annotations

import argparse
import sys

from hierskp.cli.options import add_model_options, model_from_args
from hierskp.extract.config import ExtractOptions
from hierskp.files import strict_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="turn a manifest's videos into cached features (frozen vision and text backbones)",
        description="Run the frozen backbones over a manifest's videos into a Zarr feature cache. Videos already "
        "in the cache with the same backbone, content and annotations are skipped; a broken video is reported "
        "and the others go on.",
    )
    p.add_argument("--manifest", required=True, help="manifest.jsonl (see `hierskp manifest validate`)")
    p.add_argument("--cache", required=True, help="cache path or fsspec URL, e.g. s3://bucket/cache.zarr")
    add_model_options(p.add_argument_group("extraction options"), ExtractOptions)
    p.add_argument("--video-id", action="append", dest="video_ids", help="only this id (repeatable; default: all)")
    p.add_argument("--summary-json", default=None, help="also write the summary as JSON here (default: not written)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cache_schema import CacheError
    from hierskp.backbones._hf import BackboneUnavailable
    from hierskp.extract import ExtractConfig, extract_manifest
    from hierskp.ingest.manifest import ManifestError

    try:
        options = model_from_args(ExtractOptions, args)
        cfg = ExtractConfig.of(
            args.manifest, args.cache, options, video_ids=tuple(args.video_ids) if args.video_ids else None
        )
        summary = extract_manifest(cfg, progress=not args.no_progress)
    except (ValidationError, ManifestError, CacheError, BackboneUnavailable) as exc:
        print(f"hierskp extract: error: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    if args.summary_json:
        with open(args.summary_json, "w") as fh:
            fh.write(strict_json.dumps(summary.as_dict(), indent=1))
    return 0 if summary.ok else 1
