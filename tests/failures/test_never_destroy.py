"""Issue 20, class 1: hierskp never destroys files it did not write; a run folder's lock never outlives its process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hierskp.files.outdir import MARKER, OutputFolderNotOurs
from hierskp.synth import generate_corpus
from hierskp.train import load_config, train
from tests.train.conftest import FAST


def _hierskp(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hierskp", *args], capture_output=True, text=True, timeout=120, **kw)


def test_synth_refuses_a_folder_of_user_files_and_says_how_to_proceed(tmp_path):
    user = tmp_path / "d"
    (user / "videos").mkdir(parents=True)
    (user / "manifest.jsonl").write_text('{"mine": 1}\n')
    (user / "videos" / "a.mp4").write_bytes(b"user video")
    res = _hierskp("synth", "--out", str(user), "--preset", "tiny", "--videos", "1", "--no-progress")
    assert res.returncode == 2, res.stderr
    assert "not empty" in res.stderr and "--force" in res.stderr and "Traceback" not in res.stderr
    assert (user / "manifest.jsonl").read_text() == '{"mine": 1}\n'
    assert (user / "videos" / "a.mp4").read_bytes() == b"user video"


def test_synth_rewrites_its_own_corpus_and_force_writes_anyway(tmp_path):
    out = tmp_path / "c"
    generate_corpus(out, 1, seed=0, config="tiny", progress=False)
    assert json.loads((out / MARKER).read_text())["kind"] == "synth corpus"
    generate_corpus(out, 1, seed=0, config="tiny", progress=False)  # its own output: updated
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(OutputFolderNotOurs):
        generate_corpus(other, 1, seed=0, config="tiny", progress=False)
    generate_corpus(other, 1, seed=0, config="tiny", progress=False, force=True)
    assert (other / "notes.txt").read_text() == "keep" and (other / "manifest.jsonl").is_file()


def _cfg(cache, out, *extra):
    return load_config(
        None, FAST + ["max_steps=2", "evaluate=false", *extra], cache=cache, out=str(out), progress=False
    )


def test_train_refuses_a_folder_of_user_files(tiny_cache, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "loss_curve.png").write_bytes(b"my plot")
    with pytest.raises(OutputFolderNotOurs, match="not empty"):
        train(_cfg(tiny_cache, out))
    assert sorted(p.name for p in out.iterdir()) == ["loss_curve.png"]
    assert (out / "loss_curve.png").read_bytes() == b"my plot"


def test_run_lock_never_outlives_its_process(tiny_cache, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    # a lock file left by a dead process (e.g. SIGKILL) is taken over at once
    (out / ".lock").write_text(json.dumps({"pid": 999999999, "host": "h", "started_at": "2020"}))
    (out / MARKER).write_text(json.dumps({"kind": "training run"}))
    train(_cfg(tiny_cache, out))
    assert not (out / ".lock").exists()

    def interrupt(step, total, losses):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C during training
        train(_cfg(tiny_cache, tmp_path / "run2"), on_step=interrupt)
    assert not (tmp_path / "run2" / ".lock").exists()


def test_train_cli_leaves_no_lock_and_names_the_refusal(tiny_cache, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "results.csv").write_text("mine")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    res = _hierskp("train", "--cache", tiny_cache, "--out", str(out), "--no-progress", env=env)
    assert res.returncode == 2 and "not empty" in (res.stdout + res.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["results.csv"]


def test_cache_report_and_export_refuse_a_folder_of_user_files(tiny_cache, tmp_path):
    import cache_schema as cs
    from hierskp.cache_views.export import export_features
    from hierskp.eval.report.build import evaluate_runs

    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("keep")
    with pytest.raises(cs.CacheError, match="holds no cache"):
        cs.open_cache(str(user), "a", fingerprint_id="x")
    store = cs.open_cache(tiny_cache)
    with pytest.raises(OutputFolderNotOurs):
        export_features(store, user, "npy")
    with pytest.raises(OutputFolderNotOurs):
        evaluate_runs(store, [], user, progress=False)
    assert sorted(p.name for p in user.iterdir()) == ["thesis.tex"]
