"""`hierskp search`: free-text search over a cache's videos with a trained run (moments, videos,
operations), through a FAISS index kept in the run folder and rebuilt only when stale."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hierskp.files import strict_json
from hierskp.search.rows import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, SEARCH_LEVELS

if TYPE_CHECKING:
    from hierskp.search.library import SearchLibrary

DEFAULT_K = 10


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="find the moments, videos or operations of a cache that match a text, with a trained run",
        description="Search a cache's videos by text. The first search of a level embeds the cache into a FAISS "
        "index under RUN/index/search/ (or --index-dir); later ones load it unless the run, the videos or the "
        "options changed.",
    )
    p.add_argument("text", nargs="+", metavar="TEXT", help="the query (several words are joined by spaces)")
    p.add_argument(
        "--level",
        default="moment",
        choices=SEARCH_LEVELS,
        help="moment: sliding windows over every video's frames (no annotations needed); video: whole videos; "
        "operation: annotated operations (default: moment)",
    )
    p.add_argument("-k", type=int, default=DEFAULT_K, help=f"number of hits (default: {DEFAULT_K})")
    add_library_options(p)
    p.add_argument(
        "--overlapping",
        action="store_true",
        help="moments: keep hits that overlap a better hit of the same video (default: off, k distinct moments)",
    )
    p.add_argument(
        "--json", action="store_true", help="print a JSON list of {video_id, start, end, score} (default: off, a table)"
    )
    p.set_defaults(func=run)


def add_library_options(p: argparse.ArgumentParser) -> None:
    """The options that choose an index (shared with `hierskp index build`, which builds the same ones)."""
    p.add_argument("--run", required=True, help="trained run folder (required)")
    p.add_argument("--cache", required=True, help="cache path or fsspec URL with the run's backbone (required)")
    p.add_argument(
        "--window", type=float, default=DEFAULT_WINDOW_S, help=f"moment length, seconds (default: {DEFAULT_WINDOW_S:g})"
    )
    p.add_argument(
        "--stride",
        type=float,
        default=DEFAULT_STRIDE_S,
        help=f"seconds between moment starts (default: {DEFAULT_STRIDE_S:g})",
    )
    p.add_argument(
        "--split",
        action="append",
        dest="splits",
        default=None,
        metavar="SPLIT",
        help="only videos of this split (repeatable; default: all complete videos)",
    )
    p.add_argument("--index-dir", default=None, help="where the indices live (default: RUN/index/search)")
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: the heads are small; 0 = torch's default)"
    )


def open_library(args: argparse.Namespace) -> SearchLibrary:
    """The search library the options name; sets torch's CPU threads first."""
    from hierskp.api import search_library

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    return search_library(
        args.run, args.cache, window_s=args.window, stride_s=args.stride, splits=args.splits, index_dir=args.index_dir
    )


def run(args: argparse.Namespace) -> int:
    from cache_schema import CacheError

    text = " ".join(args.text)
    try:
        lib = open_library(args)
        hits = lib.search(text, k=args.k, level=args.level, distinct=not args.overlapping)
    except (CacheError, FileNotFoundError, ValueError) as exc:
        print(f"hierskp search: error: {exc}", file=sys.stderr)
        return 2
    info = lib.info[args.level]
    state = f"rebuilt ({info.reason})" if info.rebuilt else "loaded"
    print(f"index {info.path}: {info.n} {args.level} rows, {state}", file=sys.stderr)
    if args.json:
        print(strict_json.dumps([h.to_dict() for h in hits], indent=1))
        return 0
    print(f"{'rank':>4s} {'score':>7s} {'start':>8s} {'end':>8s}  video")
    for rank, h in enumerate(hits, 1):
        print(f"{rank:4d} {h.score:7.3f} {h.start:8.1f} {h.end:8.1f}  {h.video_id}")
    return 0
