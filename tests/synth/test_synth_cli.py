"""`hierskp synth` through a real subprocess, plus render-level checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from hierskp.synth.appearance import sample_nuisance, world_look
from hierskp.synth.config import get_config
from hierskp.synth.corpus import plan_corpus
from hierskp.synth.render import VideoRenderer


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_cli_writes_corpus_independent_of_worker_count(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [
        sys.executable,
        "-m",
        "hierskp",
        "synth",
        "--out",
        str(out),
        "--videos",
        "3",
        "--seed",
        "2",
        "--preset",
        "tiny",
        "--size",
        "32x24",
        "--fps",
        "8",
        "--duration",
        "6-8",
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 videos" in proc.stdout
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(6 <= r["duration"] <= 8 for r in rows)
    frames = _frames(out / rows[0]["video"])
    assert frames.shape[1:] == (24, 32, 3)

    # the single-worker corpus is also written by a fresh process: rendering must not depend on the
    # state an earlier test left in this one
    one = [*cmd[: cmd.index("--out") + 1], str(tmp_path / "here"), *cmd[cmd.index("--out") + 2 :]]
    one[one.index("--workers") + 1] = "1"
    assert subprocess.run(one, capture_output=True, text=True, timeout=120).returncode == 0
    here = tmp_path / "here" / "manifest.jsonl"
    assert here.read_bytes() == (out / "manifest.jsonl").read_bytes()
    assert np.array_equal(_frames(here.parent / rows[0]["video"]), frames)


def test_cli_rejects_bad_size(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hierskp", "synth", "--out", str(tmp_path), "--size", "33x24"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "even" in proc.stderr


def test_crossfade_is_gradual_and_chunking_does_not_change_pixels() -> None:
    cfg = get_config("tiny")
    inst = plan_corpus(1, 4, cfg)[0].instance

    def renderer() -> VideoRenderer:
        rng = np.random.default_rng(0)
        return VideoRenderer(inst, cfg, world_look(cfg.world_seed), sample_nuisance(rng), rng)

    t = np.arange(inst.n_frames) / cfg.fps
    w = renderer().weights(t)
    assert np.allclose(w.sum(0), 1)
    b = inst.segments[1].start
    near = (t > b - cfg.crossfade / 2) & (t < b + cfg.crossfade / 2)
    assert near.any() and ((w[0, near] > 0) & (w[0, near] < 1)).all()  # blended, not a hard cut
    whole = renderer().frames(0, 20)
    r = renderer()
    assert np.array_equal(whole, np.concatenate([r.frames(0, 7), r.frames(7, 20)]))
