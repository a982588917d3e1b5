"""`hierskp index build`: a run's search indices, built ahead of the first query.

It builds exactly what `hierskp search` (and `hierskp serve`, which seeds from RUN/index/search/) loads for
the same options: `SearchLibrary.build`, the index of every level. Run it after training (the build-index
flow and the retrain flow's promotion do), and a search then embeds only its query and writes nothing.
"""

from __future__ import annotations

import argparse
import sys

from hierskp.cli.search import add_library_options, open_library
from hierskp.files import strict_json
from hierskp.search import SEARCH_LEVELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build a run's search indices before the first search")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="load or build the search index of every level (only the stale ones are rebuilt)",
        description="Build the FAISS indices `hierskp search` loads with the same options (under "
        "RUN/index/search/, or --index-dir). Each is fingerprinted: an up-to-date index is loaded, not rebuilt.",
    )
    add_library_options(build)
    build.add_argument(
        "--level",
        action="append",
        dest="levels",
        default=None,
        choices=SEARCH_LEVELS,
        help=f"only this level (repeatable; default: all, {', '.join(SEARCH_LEVELS)})",
    )
    build.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {level, path, n, rebuilt, reason} (default: off, a line per level)",
    )
    build.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cache_schema import CacheError

    try:
        lib = open_library(args)
        built = lib.build(args.levels or SEARCH_LEVELS)
    except (CacheError, FileNotFoundError, ValueError) as exc:
        print(f"hierskp index build: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(strict_json.dumps([vars(i) for i in built], indent=1))
    for i in built:
        state = f"built ({i.reason})" if i.rebuilt else ("loaded" if i.path else i.reason)
        print(
            f"{i.level}: {i.n} rows, {state}{f' -> {i.path}' if i.path else ''}",
            file=sys.stderr if args.json else sys.stdout,
        )
    print(f"{lib.embedded_rows} rows embedded", file=sys.stderr)
    return 0
