"""`hierskp serve`: the local web app (search, watch, inspect) over one run and one cache."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web app: search the videos by text, watch the moments, inspect the cache",
        description="Serve a web app over a trained run and its cache: search page (/), video page (/video), cache "
        "page (/cache), JSON API (/api/, schema at /docs). Read-only on the run and the cache; listens on "
        f"{DEFAULT_HOST} unless --host says otherwise.",
    )
    p.add_argument("--run", required=True, help="trained run folder (required)")
    p.add_argument("--cache", required=True, help="cache path or fsspec URL with the run's backbone (required)")
    p.add_argument(
        "--videos",
        default=None,
        help="the folder the extraction's manifest was in: the cache records source paths relative to it "
        "(default: none, so no video is played and no thumbnail is drawn)",
    )
    p.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    p.add_argument(
        "--state-dir",
        default=None,
        help="where search indices and thumbnails go (default: ~/.cache/hierskp/serve/<run+cache hash>)",
    )
    p.add_argument(
        "--prompts", default=None, help="class prompts YAML for the zero-shot timeline (default: training captions)"
    )
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: one query is small; 0 = torch's default)"
    )
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from cache_schema import CacheError
    from hierskp.eval.tasks.prompts import load_prompts
    from hierskp.serve.app import create_app
    from hierskp.serve.library import ServeLibrary

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if not 0 < args.port < 65536:
        print(f"hierskp serve: error: --port must be 1-65535, got {args.port}", file=sys.stderr)
        return 2
    print(
        f"hierskp serve: loading run {args.run}, its text encoder and the moment index of {args.cache}", file=sys.stderr
    )
    try:
        prompts = load_prompts(args.prompts) if args.prompts else None
        library = ServeLibrary(args.run, args.cache, videos=args.videos, state_dir=args.state_dir, prompts=prompts)
    except (CacheError, FileNotFoundError, ValueError) as exc:
        print(f"hierskp serve: error: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(
            f"hierskp serve: WARNING: listening on {args.host}, not loopback: anyone who can reach this machine "
            "can search the library and watch its videos",
            file=sys.stderr,
        )
    print(f"hierskp serve: http://{args.host}:{args.port}/ (state in {library.state_dir})", file=sys.stderr, flush=True)
    uvicorn.run(create_app(library), host=args.host, port=args.port, log_level="warning")
    return 0
