"""`python -m hierskp.experiments.ablation`: variants x seeds, scored on val, test and an unseen cache, gathered per run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hierskp.configs import ABLATION_VARIANTS
from hierskp.experiments.ablation import VARIANTS, load_variants, main, run_ablation, summarize
from tests.fixtures.synthetic_cache import make_synthetic_cache

FAST = ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2", "data.batch_videos=4", "max_steps=3"]


def _val_split(i: int) -> str:
    return ("pretrain", "train", "val", "test", "test")[i % 5]


@pytest.fixture(scope="module")
def caches(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("abl")
    import tests.fixtures.synthetic_cache as sc

    monkeypatch_module.setattr(sc, "split_of", _val_split)
    a = make_synthetic_cache(root / "a.zarr", n_videos=20, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 5))
    b = make_synthetic_cache(root / "b.zarr", n_videos=10, seed=5, vision_dim=16, text_dim=24, op_frames=(3, 5))
    return root, a.url, b.url


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_ablation_scores_every_variant_on_val_test_and_unseen(caches):
    root, a, b = caches
    out = root / "runs"
    variants = {"full": [], "no_video_order": ["losses.video_order.enabled=false"]}
    res = run_ablation(a, out, [0], variants, FAST, unseen=[b])
    assert res["seeds"] == {"full": [0], "no_video_order": [0]}
    for v in variants:
        sets = res["summary"][v]
        assert {"val", "test", "unseen:b"} <= set(sets)
        mean, std = sets["test"]["heads/twin_clip_dtw/acc"]
        assert 0.0 <= mean <= 100.0 and std >= 0.0
    md = (out / "ablation.md").read_text()
    assert "### val" in md and "### unseen:b" in md and "twin_clip_dtw/acc" in md
    # a second process's runs join the same summary
    rec = json.loads((out / "full_seed0" / "ablation_metrics.json").read_text())
    assert rec["variant"] == "full" and rec["seed"] == 0
    assert summarize(out)["summary"].keys() == res["summary"].keys()


def test_the_cli_summarizes_a_folder(caches):
    """As `python -m hierskp.experiments.ablation` (module run as __main__): every helper is defined before main runs."""
    root, a, _ = caches
    out = root / "runs_cli"
    run_ablation(a, out, [0], {"full": []}, FAST)
    (out / "ablation.md").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "hierskp.experiments.ablation", "--out", str(out), "--summarize"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "twin_clip_dtw/acc" in (out / "ablation.md").read_text()


def test_an_anchor_variant_is_scored_and_recorded_with_its_packaged_config(caches):
    root, a, _ = caches
    out = root / "runs_anchor"
    res = run_ablation(a, out, [0], {"hecvl": []}, FAST)
    assert res["seeds"] == {"hecvl": [0]}
    rec = json.loads((out / "hecvl_seed0" / "ablation_metrics.json").read_text())
    assert rec["variant"] == "hecvl" and rec["config"] == "hecvl" and rec["train_seconds"] > 0


def test_summarize_refuses_an_empty_folder_and_the_cli_needs_a_cache(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no run"):
        summarize(tmp_path)
    monkeypatch.setattr("sys.argv", ["ablation", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main()


def test_variants_are_the_packaged_yaml_checked_once(tmp_path):
    assert VARIANTS == load_variants(ABLATION_VARIANTS)
    assert VARIANTS["full"] == [] and VARIANTS["no_operation_level"] == ["losses.contrastive.levels=[frame,video]"]
    assert VARIANTS["twin_levers"] == ["losses.twin_order.negatives=true", "losses.twin_order.dtw_hinge=true"]
    bad = tmp_path / "variants.yaml"
    bad.write_text("full: []\nno_dtw: [losses.dtw.enabld=false]\n")  # a typo
    with pytest.raises(ValueError, match=r"variants.yaml: variant 'no_dtw'.*enabld"):
        load_variants(bad)
    bad.write_text("no_dtw: losses.dtw.enabled=false\n")  # not a list
    with pytest.raises(ValueError, match=r"variant 'no_dtw': expected a list"):
        load_variants(bad)
    bad.write_text("hecvl: []\n")
    with pytest.raises(ValueError, match="anchor"):
        load_variants(bad)
