"""End-to-end tiny corpus: real H.264 files, manifest schema, determinism, appearance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from hierskp.synth.config import get_config
from hierskp.synth.corpus import generate_corpus

N_VIDEOS = 6


def _rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_corpus(tmp_path_factory.mktemp("tiny") / "c", N_VIDEOS, seed=0, config="tiny", progress=False)


def test_videos_decode_with_expected_size_and_duration(corpus: Path) -> None:
    cfg = get_config("tiny")
    rows = _rows(corpus)
    assert len(rows) == N_VIDEOS
    for r in rows:
        path = corpus.parent / r["video"]
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
            n = sum(1 for _ in c.decode(video=0))
            assert (s.codec_context.width, s.codec_context.height) == (cfg.width, cfg.height)
        assert abs(n - r["duration"] * cfg.fps) <= 1
    assert not list(corpus.parent.rglob("*.tmp*"))  # atomic writes leave no temp files


def test_manifest_schema(corpus: Path) -> None:
    for r in _rows(corpus):
        assert {"video_id", "video", "split", "procedure", "text", "operations", "frames"} <= set(r)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", r["video_id"])
        assert r["video"] == f"videos/{r['video_id']}.mp4" and r["split"] in ("pretrain", "train", "test")
        assert isinstance(r["text"], str) and len(r["text"]) > 20
        ops, dur = r["operations"], r["duration"]
        assert ops[0]["start"] == 0 and ops[-1]["end"] == pytest.approx(dur) and 3 <= len(ops) <= 5
        for a, b in zip(ops[:-1], ops[1:]):
            assert a["end"] == b["start"]
        for o in ops:
            assert o["start"] < o["end"] <= dur and o["label"] and o["text"]
            inside = [f for f in r["frames"] if o["start"] <= f["time"] < o["end"]]
            assert len(inside) >= 2
        assert all(0 <= f["time"] <= dur and f["text"] for f in r["frames"])
        assert [f["time"] for f in r["frames"]] == sorted(f["time"] for f in r["frames"])


def test_activitynet_annotations_match_manifest(corpus: Path) -> None:
    db = json.loads((corpus.parent / "annotations_activitynet.json").read_text())["database"]
    for r in _rows(corpus):
        entry = db[r["video_id"]]
        assert entry["subset"] == r["split"]
        assert [a["segment"] for a in entry["annotations"]] == [[o["start"], o["end"]] for o in r["operations"]]
        assert [a["label"] for a in entry["annotations"]] == [o["label"] for o in r["operations"]]


def test_same_seed_same_corpus_other_seed_differs(corpus: Path, tmp_path: Path) -> None:
    same = generate_corpus(tmp_path / "same", N_VIDEOS, seed=0, config="tiny", progress=False)
    assert same.read_bytes() == corpus.read_bytes()
    for r in _rows(corpus)[:2]:  # decoded pixels, not mp4 bytes (x264 builds may differ)
        assert np.array_equal(_decode(corpus.parent / r["video"]), _decode(same.parent / r["video"]))
    other = generate_corpus(tmp_path / "other", N_VIDEOS, seed=1, config="tiny", progress=False)
    a, b = _rows(corpus), _rows(other)
    assert [r["text"] for r in a] != [r["text"] for r in b]
    assert [r["duration"] for r in a] != [r["duration"] for r in b]
    assert not np.array_equal(_decode(corpus.parent / a[0]["video"])[0], _decode(other.parent / b[0]["video"])[0])


def test_operation_appearance_is_shared_across_videos(corpus: Path) -> None:
    """Mean colour of an operation's frames in one video is closer to the same operation in
    another video than to other operations (on average), despite per-video nuisance."""
    fps = get_config("tiny").fps
    means = []  # (video index, label, mean rgb)
    for v, r in enumerate(_rows(corpus)):
        frames = _decode(corpus.parent / r["video"]).astype(np.float32)
        for o in r["operations"]:
            core = frames[int(np.ceil((o["start"] + 0.3) * fps)) : int((o["end"] - 0.3) * fps)]
            if len(core):
                means.append((v, o["label"], core.mean((0, 1, 2))))
    same, diff = [], []
    for i, (va, la, ma) in enumerate(means):
        for vb, lb, mb in means[i + 1 :]:
            if va != vb:
                (same if la == lb else diff).append(float(np.linalg.norm(ma - mb)))
    assert len(same) >= 3 and np.mean(same) < np.mean(diff)
