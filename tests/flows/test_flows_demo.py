"""`make demo ANCHORS=1`: the anchors trained by the train flow on the demo's cache, printed beside HierSKP."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_demo_anchor_comparison(prefect_api, reference_cache, tmp_path):
    from flows.demo import ANCHOR_NAMES, compare_anchors
    from flows.train import train_hierskp

    cache = reference_cache["cache"]
    run = train_hierskp(cache=cache, out=str(tmp_path / "runs" / "r1"), max_steps=2, evaluate=False)
    text = compare_anchors(tmp_path, cache, run, seed=0, max_steps=2)
    lines = text.splitlines()
    assert lines[0].startswith("method") and "train (x HierSKP)" in lines[0]
    assert [ln.split()[0] for ln in lines[1:6]] == ["frozen", "HierSKP", "HecVL-style", "PeskaVLP-style", "CLIP-style"]
    assert lines[2].split()[-1] == "1.00"  # HierSKP's own cost ratio
    report = json.loads((tmp_path / "report_anchors" / "report.json").read_text())
    assert [m["name"] for m in report["methods"]][1:] == ["HierSKP", *ANCHOR_NAMES.values()]
    hec = json.loads((tmp_path / "anchors" / "hecvl_seed0" / "config.json").read_text())["config"]
    assert hec["model"]["positions"] == "none" and hec["losses"]["dtw"]["enabled"] is False
    marker = tmp_path / "anchors" / "peskavlp_seed0" / "metrics.jsonl"
    before = marker.stat().st_mtime_ns
    compare_anchors(tmp_path, cache, run, seed=0, max_steps=2)  # finished anchors are reused, not retrained
    assert marker.stat().st_mtime_ns == before
