"""The `hierskp` command line as a user meets it: help, version, options, a closed pipe."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

import cache_schema as cs
import hierskp
from hierskp.cli import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _leaf_parsers(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        return {prefix: parser}
    found = {}
    for name, child in _subparsers(parser).items():
        found.update(_leaf_parsers(child, f"{prefix} {name}".strip()))
    return found


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hierskp", *args], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_version_and_top_level_help_for_users():
    assert _run("--version").stdout.strip() == f"hierskp {hierskp.__version__}"
    text = _run("--help").stdout
    for command in ("synth", "manifest", "extract", "cache", "train", "evaluate"):
        assert f"hierskp {command}" in text or f"    {command}" in text
    assert "hierskp.cli" not in text  # what a user can do, not how the code is laid out


@pytest.mark.parametrize("command", ["cache", "extract", "manifest", "synth", "search", "index"])
def test_every_option_has_help_with_its_default(command):
    leaves = _leaf_parsers(_subparsers(build_parser())[command], command)
    for name, parser in leaves.items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            where = f"hierskp {name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where}: no help text"
            if action.option_strings and not action.required:
                assert "default" in action.help or "unset" in action.help, f"{where}: help does not say its default"


def test_closed_pipe_exits_quietly(tmp_path):
    """`hierskp cache show C | head -1`: no BrokenPipeError traceback when the reader goes away."""
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    w = store.begin_video("v1", {"fps": 1.0}, {"operations": [], "notes": "x" * 200_000})
    w.append_frames(np.zeros((3, 4)), np.arange(3.0))
    w.write_texts(np.ones((1, 2)), np.ones((0, 2)), np.ones((0, 2)))
    w.write_annotation_arrays(np.zeros((0, 2)), np.zeros(0))
    w.finalize()
    shell = f"{sys.executable} -m hierskp cache show {tmp_path / 'c.zarr'} v1 | head -c 10"
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert proc.stdout == '{\n "video_'
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
