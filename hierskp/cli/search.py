"""`hierskp search`: free-text search over a cache's videos with a trained run (moments, videos,
operations), through a FAISS index kept in the run folder and rebuilt only when stale."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hierskp.files import strict_json
from hierskp.search import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, SEARCH_LEVELS

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
    p.add_argument(
        "--server",
        metavar="URL",
        default=None,
        help="ask a running `hierskp serve` (e.g. http://127.0.0.1:8000) with its run, cache and index instead of "
        "loading them here: a query costs ~0.3 s, where this process's start (torch, the text encoder) is ~6-12 s "
        "(default: unset, search here; --run and --cache are then required)",
    )
    add_library_options(p, required=False)
    p.add_argument(
        "--overlapping",
        action="store_true",
        help="moments: keep hits that overlap a better hit of the same video (default: off, k distinct moments)",
    )
    p.add_argument(
        "--json", action="store_true", help="print a JSON list of {video_id, start, end, score} (default: off, a table)"
    )
    p.set_defaults(func=run)


def add_library_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The options that choose an index (shared with `hierskp index build`, which builds the same ones)."""
    need = "required" if required else "required unless --server; default: unset"
    p.add_argument("--run", required=required, help=f"trained run folder ({need})")
    p.add_argument("--cache", required=required, help=f"cache path or fsspec URL with the run's backbone ({need})")
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
    text = " ".join(args.text)
    if args.server:
        from hierskp.search.client import ServerError, ask_server

        try:
            hits, index = ask_server(args.server, text, args.level, args.k, _server_refusals(args), args.splits)
        except ServerError as exc:
            print(f"hierskp search: error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.server}: {index.get('rows')} {args.level} rows", file=sys.stderr)
        return _print_hits(hits, args.json)
    if not (args.run and args.cache):
        print(
            "hierskp search: error: --run and --cache are required (or --server URL of a running `hierskp serve`)",
            file=sys.stderr,
        )
        return 2
    from cache_schema import CacheError

    try:
        lib = open_library(args)
        hits = lib.search(text, k=args.k, level=args.level, distinct=not args.overlapping)
    except (CacheError, FileNotFoundError, ValueError) as exc:
        print(f"hierskp search: error: {exc}", file=sys.stderr)
        return 2
    info = lib.info[args.level]
    state = f"rebuilt ({info.reason})" if info.rebuilt else "loaded"
    print(f"index {info.path}: {info.n} {args.level} rows, {state}", file=sys.stderr)
    return _print_hits([h.to_dict() for h in hits], args.json)


def _server_refusals(args: argparse.Namespace) -> list[str]:
    """The options a server's library decides: given with --server, they are refused, not ignored."""
    chosen = {
        "--run": args.run is not None,
        "--cache": args.cache is not None,
        "--index-dir": args.index_dir is not None,
        "--window": args.window != DEFAULT_WINDOW_S,
        "--stride": args.stride != DEFAULT_STRIDE_S,
        "--overlapping": args.overlapping,
        "--split (more than one)": len(args.splits or []) > 1,
    }
    return [name for name, given in chosen.items() if given]


def _print_hits(hits: list[dict], as_json: bool) -> int:
    if as_json:
        keys = ("video_id", "start", "end", "score")
        print(strict_json.dumps([{k: h[k] for k in keys} for h in hits], indent=1))
        return 0
    print(f"{'rank':>4s} {'score':>7s} {'start':>8s} {'end':>8s}  video")
    for rank, h in enumerate(hits, 1):
        print(f"{rank:4d} {h['score']:7.3f} {h['start']:8.1f} {h['end']:8.1f}  {h['video_id']}")
    return 0
