"""`hierskp evaluate` / `evaluate_runs`: the report files, their keys, the figures, ablation names."""

from __future__ import annotations

import json
import shutil

import matplotlib.image as mpimg
import pytest

import cache_schema as cs
from hierskp.cli import main
from hierskp.eval.report.build import BASELINE, as_run_eval, evaluate_runs, headline_metrics, method_names
from hierskp.eval.report.headline import EVAL_JSON, HEADLINE, PROMOTION, SUMMARY
from hierskp.eval.tasks.retrieval import headline as train_headline
from hierskp.train import load_config, train
from tests.fixtures.synthetic_cache import make_synthetic_cache

FAST = [
    "model.hidden_dim=16",
    "model.embed_dim=16",
    "model.heads=2",
    "model.max_video_len=8",
    "model.max_clip_len=8",
    "data.batch_videos=4",
    "optim.warmup_steps=1",
    "checkpoint_every=10",
    "max_steps=6",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny trained run and an 'ablation': the same heads under a config saying DTW was off."""
    root = tmp_path_factory.mktemp("report")
    cache = str(root / "c.zarr")
    make_synthetic_cache(cache, n_videos=15, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 6))
    full = train(load_config(None, FAST, cache=cache, out=str(root / "full"), progress=False, evaluate=False))
    ablation = root / "no_dtw"
    shutil.copytree(full, ablation)
    meta = json.loads((ablation / "config.json").read_text())
    meta["config"]["losses"]["dtw"]["enabled"] = False
    meta["config"]["out"] = str(ablation)
    (ablation / "config.json").write_text(json.dumps(meta))
    return cs.open_cache(cache), full, ablation


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    store, full, ablation = runs
    out = tmp_path_factory.mktemp("out") / "report"
    return evaluate_runs(store, [full, ablation], out, split="test", progress=False), out


def test_report_files_and_keys(report):
    rep, out = report
    for name in (
        "report.json",
        "report.md",
        "recall_curves.png",
        "confusion_matrix.png",
        "timeline.png",
        "detection/ground_truth.json",
    ):
        assert (out / name).is_file(), name
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # every file was renamed into place
    on_disk = json.loads((out / "report.json").read_text())
    assert set(on_disk) >= {"split", "cache", "methods", "figures", "table", "seconds", "created_at"}
    assert [m["name"] for m in on_disk["methods"]] == [BASELINE, "HierSKP", "losses.dtw.enabled=False"]
    assert on_disk["methods"][2]["config_diff"] == {"losses.dtw.enabled": [True, False]}
    for m in on_disk["methods"]:
        res = m["result"]
        assert set(res) >= {"retrieval", "recall_curves", "recognition", "localization", "index", "seconds"}
        for level in ("video", "operation", "frame"):
            for direction in ("v2t", "t2v"):
                assert {"R@1", "R@5", "R@10", "MedR", "MeanR"} <= set(res["retrieval"][level][direction])
                curve = res["recall_curves"][level][direction]
                assert len(curve) == 50 and curve == sorted(curve)
                assert curve[0] == res["retrieval"][level][direction]["R@1"]
            for direction in ("t2v", "v2t"):
                assert res["index"][f"{level}/{direction}"]["agreement"] == 1.0
        assert "order" in res["retrieval"] and "dtw" in res["retrieval"]["order"]
        assert set(res["localization"]["zero_shot"]) >= {"mAP@0.3", "mAP@0.7", "average_mAP", "predictions_file"}
        assert set(res["recognition"]["linear_probe"]) == {"frame", "segment"}
    table = on_disk["table"]
    assert set(table) == {BASELINE, "HierSKP", "losses.dtw.enabled=False"}
    assert set(table["HierSKP"]) >= {"summary", "retrieval/video", "order", "recognition/per_video", "tal/zero_shot"}
    assert table["HierSKP"]["tal/probe"]["avg"] == pytest.approx(
        100 * on_disk["methods"][1]["result"]["localization"]["probe"]["average_mAP"]
    )
    assert rep["table"] == table


def test_the_report_writes_nothing_in_the_run_folders(runs, report):
    """Its FAISS-vs-exact check builds its indices in memory: the one index set on disk is the search's."""
    _, full, ablation = runs
    assert not (full / "index").exists() and not (ablation / "index").exists()


def test_markdown_is_side_by_side(report):
    _, out = report
    md = (out / "report.md").read_text()
    for title in (
        "Text-video retrieval: video level",
        "Order retrieval, text-passable",
        "Order controls (video-side",
        "With n (videos) and 95% bootstrap intervals",
        "Operation recognition",
        "Temporal action localization",
        "FAISS index vs exact search",
        "![recall@K](recall_curves.png)",
    ):
        assert title in md, title
    rows = [ln for ln in md.splitlines() if ln.startswith("| HierSKP |")]
    assert len(rows) >= 9 and all("nan" not in r for r in rows)


def test_figures_are_valid_pngs(report):
    _, out = report
    for name in ("recall_curves.png", "confusion_matrix.png", "timeline.png"):
        data = (out / name).read_bytes()
        assert data[:8] == PNG_MAGIC
        img = mpimg.imread(out / name)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


def test_cli_with_names(runs, tmp_path, capsys):
    store, full, _ = runs
    code = main(
        [
            "evaluate",
            "--cache",
            store.url,
            "--run",
            str(full),
            "--out",
            str(tmp_path / "r"),
            "--name",
            "mine",
            "--no-progress",
            "--threads",
            "0",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "mine" in text and BASELINE in text and "report:" in text
    methods = json.loads((tmp_path / "r" / "report.json").read_text())["methods"]
    assert [m["name"] for m in methods] == [BASELINE, "mine"]
    assert main(["evaluate", "--cache", store.url, "--run", str(tmp_path), "--out", str(tmp_path / "x")]) == 2


def test_seed_runs_are_one_method_with_an_interval(runs, tmp_path, capsys):
    """A second real seed of the reference run: both are grouped as HierSKP (mean and t-interval of the
    two runs' numbers), the ablation stays its own method; the CLI prints the grouped table."""
    store, full, ablation = runs
    seed1 = train(
        load_config(None, FAST, cache=store.url, out=str(tmp_path / "s1"), seed=1, progress=False, evaluate=False)
    )
    out = tmp_path / "r"
    argv = ["evaluate", "--cache", store.url, "--out", str(out), "--no-progress", "--threads", "0"]
    assert main(argv + ["--run", str(full), "--run", str(seed1), "--run", str(ablation)]) == 0
    printed = capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    names = [m["name"] for m in rep["methods"]]
    assert [(g["name"], g["methods"]) for g in rep["groups"]] == [
        (BASELINE, [BASELINE]),
        ("HierSKP", [names[1], names[2]]),
        (names[3], [names[3]]),
    ]
    col = "ZS frame Acc"
    pair = [rep["table"][n]["summary"][col] for n in names[1:3]]
    stat = rep["group_table"]["HierSKP"]["summary"][col]
    assert stat["n"] == 2 and stat["mean"] == pytest.approx(sum(pair) / 2)
    assert stat["ci95"] == pytest.approx(12.706 * abs(pair[0] - pair[1]) / 2)
    assert rep["group_table"][names[3]]["summary"][col]["ci95"] is None
    md = (out / "report.md").read_text()
    assert (
        "## Across seeds" in md
        and "* HierSKP vs " in md
        and "* HierSKP − " in md
        and md.index("## Across seeds") < md.index("## Per run")
    )
    assert "across seeds" in printed


def test_method_names_dedupe(runs):
    _, full, _ = runs
    assert method_names([full, full]) == [("HierSKP", {}), (full.name, {})]  # no difference: the folder name
    assert [n for n, _ in method_names([full, full], ["a", "a"])] == ["a", f"a ({full.name})"]


def test_tiny_corpus_degrades_gracefully(tmp_path):
    """One test video and no train split (the flows' 3-video corpus is close): retrieval rows that need
    two items and probe rows that need a train split are reported missing, the rest is computed."""
    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=5, seed=0, vision_dim=16, text_dim=24)
    store.delete_video("syn0003")  # the only train video
    rep = evaluate_runs(cs.open_cache(str(tmp_path / "c.zarr")), [], tmp_path / "r", progress=False)
    res = rep["methods"][0]["result"]
    assert res["recognition"]["linear_probe"]["frame"] == {
        "skipped": "no probe: the train split has too few labelled rows or classes"
    }
    assert "probe" not in res["localization"] and "average_mAP" in res["localization"]["zero_shot"]
    assert "video" not in res["recall_curves"] and "operation" in res["recall_curves"]
    table = rep["table"][BASELINE]
    assert table["summary"]["video R@1"] is None and table["summary"]["ZS frame Acc"] is not None
    assert (tmp_path / "r" / "timeline.png").is_file()
    with pytest.raises(ValueError, match="no complete video in split 'train'"):
        evaluate_runs(store, [], tmp_path / "x", split="train", progress=False)


def test_headline_metrics_for_flows(report):
    rep, _ = report
    flat = headline_metrics(rep)
    assert flat["heads/video/R@1"] == rep["methods"][1]["result"]["retrieval"]["video"]["mean_R@1"]
    assert "frozen_baseline/order_dtw/acc" in flat and "heads/TAL ZS avg mAP" in flat
    ablation = rep["methods"][2]["result"]["retrieval"]["video"]["mean_R@1"]
    assert headline_metrics(rep, run=1)["heads/video/R@1"] == ablation
    legacy = train_headline(as_run_eval(rep))  # what flows/retrain reads from RUN/eval.json
    assert legacy and legacy == {k: v for k, v in flat.items() if k in legacy}


def test_every_headline_metric_is_in_a_real_report_and_feeds_its_tables(report):
    """Each registry path exists in the written report.json (and, for its RUN/eval.json part, in the
    eval.json form); the summary table, the flows' numbers and promotion read the same values."""
    rep, out = report
    on_disk = json.loads((out / "report.json").read_text())
    for method in on_disk["methods"]:
        missing = [m.name for m in HEADLINE if not m.holds(method["result"])]
        assert missing == [], (method["name"], missing)
        summary = on_disk["table"][method["name"]]["summary"]
        assert list(summary) == [m.column for m in SUMMARY]
        for m in SUMMARY:
            v = m.value(method["result"])
            assert summary[m.column] == (pytest.approx(v) if v is not None else None), m.name
    run_eval = as_run_eval(rep)
    for side in ("heads", "frozen_baseline"):
        assert [m.name for m in EVAL_JSON if not m.holds({"retrieval": run_eval[side]})] == []
    flat = headline_metrics(rep)
    assert set(flat) == {f"{k}/{m.name}" for k in ("heads", "frozen_baseline") for m in HEADLINE}
    measured = {m.name: m.value(rep["methods"][1]["result"]) for m in PROMOTION}
    assert measured == pytest.approx({m.name: flat[f"heads/{m.name}"] for m in PROMOTION}, nan_ok=True)
