"""Issue 20, item 12: the small things a new user tripped on."""

from __future__ import annotations

import json
from pathlib import Path

from hierskp.cli import build_parser

from .conftest import hierskp_cli

ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_help_describes_the_command(capsys):
    parser = build_parser()
    try:
        parser.parse_args(["evaluate", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "alias `hierskp evaluate`" in out


def test_cache_show_lists_the_videos(tiny_cache):
    res = hierskp_cli("cache", "show", tiny_cache)
    shown = json.loads(res.stdout)
    assert len(shown["video_ids"]["complete"]) == 20 and shown["videos"]["complete"] == 20


def test_open_cache_is_importable_from_hierskp_and_data_is_ignored(tiny_cache):
    from hierskp import open_cache

    assert open_cache(tiny_cache).video_ids()
    assert "/data/" in (ROOT / ".gitignore").read_text().split()


def test_train_flow_says_epochs_or_steps_not_both():
    text = (ROOT / "flows" / "train.py").read_text()
    assert "epochs'} steps" not in text and 'f"{cfg.epochs} epochs"' in text
