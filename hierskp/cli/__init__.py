"""The `hierskp` command line: one sub-command module per job in `hierskp.cli`.

Each command module exposes `register(subparsers)` that adds its parser and sets
`func=<callable(args) -> int>`; heavy imports stay inside that callable so `--help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import hierskp

COMMAND_MODULES = ("synth", "manifest", "extract", "cache", "train", "metrics", "report", "index", "search", "serve")

DESCRIPTION = """\
Learn surgical video representations from your videos and their annotations.

  1. describe your videos in a manifest         hierskp manifest validate M.jsonl
     (or make a synthetic corpus to try it)     hierskp synth --out data/corpus
  2. turn the videos into cached features       hierskp extract --manifest M.jsonl --cache C.zarr
     and look at them                           hierskp cache ls|show|validate|plot C.zarr
  3. train the hierarchical heads on them       hierskp train --cache C.zarr --out runs/r1
  4. measure them against the frozen features   hierskp evaluate --cache C.zarr --run runs/r1 --out report/
  5. search the videos by text                  hierskp search --run runs/r1 --cache C.zarr "skin closure"
     (its indices built ahead, once)            hierskp index build --run runs/r1 --cache C.zarr
     or in the browser                          hierskp serve --run runs/r1 --cache C.zarr --videos DIR
"""

EPILOG = """\
`hierskp COMMAND --help` shows each command's options and their defaults.
The same stages run as Prefect flows (deploy/README.md); `make demo` runs all of them once.
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; with `only`, that command's alone (its siblings' imports, e.g. extract's
    torch, then cost nothing: `hierskp cache ls` starts in a second)."""
    parser = argparse.ArgumentParser(
        prog="hierskp", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"hierskp {hierskp.__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a failure (default: one line; or HIERSKP_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else (only,):
        try:
            module = importlib.import_module(f"hierskp.cli.{name}")
        except ModuleNotFoundError as exc:  # a command still being built is simply absent
            if exc.name == f"hierskp.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hierskp.failures import debug_enabled, exit_code, one_line, stop_on_sigterm

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled(argv)
    argv = [a for a in argv if a != "--debug"]
    first = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(first if first in COMMAND_MODULES else None).parse_args(argv)
    stop_on_sigterm()  # a scheduler's stop ends a command as Ctrl-C does (`hierskp serve`: uvicorn's own)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (`hierskp cache show C | head`): stop quietly, as other tools do;
        # stdout is pointed at devnull so the interpreter's final flush cannot raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (Exception, KeyboardInterrupt) as exc:  # one line for the user; the traceback with --debug
        if debug:
            raise
        print(f"hierskp {args.command}: error: {one_line(exc)} (--debug shows the traceback)", file=sys.stderr)
        return exit_code(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
