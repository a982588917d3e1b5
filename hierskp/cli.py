"""The `hierskp` command line: one sub-command module per job in `hierskp.commands`.

Each command module exposes `register(subparsers)` that adds its parser and sets
`func=<callable(args) -> int>`; heavy imports stay inside that callable so `--help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("synth", "manifest", "extract", "cache", "train", "eval", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hierskp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"hierskp.commands.{name}")
        except ModuleNotFoundError as exc:  # a command still being built is simply absent
            if exc.name == f"hierskp.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
