"""`hierskp evaluate --prompts`: user class prompts through the run's text encoder, any labels."""

from __future__ import annotations

import pytest

from hierskp.cli import main
from hierskp.eval.report.build import evaluate_runs
from hierskp.eval.tasks.prompts import PromptsError, load_prompts
from hierskp.train import load_config, train
from tests.fixtures.synthetic_cache import OPS, make_synthetic_cache

FAST = ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2", "data.batch_videos=4", "max_steps=4"]


def test_prompt_files_are_validated_naming_file_label_and_value(tmp_path):
    good = tmp_path / "p.yaml"
    good.write_text("skin_closure: skin closure\nmesh: [mesh placement, the mesh is placed]\n")
    assert load_prompts(good) == {"skin_closure": ["skin closure"], "mesh": ["mesh placement", "the mesh is placed"]}
    for text, match in (
        ("- a\n- b\n", "mapping"),
        ("a: x\n", "at least 2"),
        ("a: x\nb: []\n", "label 'b'"),
        ("a: x\nb: [ok, 3]\n", r"label 'b'.*\[.ok., 3\]"),
        ("a: [unclosed\n", "cannot read"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(PromptsError, match=match) as err:
            load_prompts(bad)
        assert str(bad) in str(err.value)


@pytest.fixture(scope="module")
def run_with_text_encoder(tmp_path_factory):
    from hierskp.backbones import load_text_encoder

    enc = load_text_encoder("default", device="cpu")
    root = tmp_path_factory.mktemp("prompts")
    store = make_synthetic_cache(
        root / "c.zarr", n_videos=10, seed=0, vision_dim=16, op_frames=(3, 5), text_encoder=enc
    )
    run = train(load_config(None, FAST + ["evaluate=false"], cache=store.url, out=str(root / "run"), progress=False))
    return root, store, run


def test_report_uses_the_prompts_for_zero_shot_including_labels_never_trained(run_with_text_encoder):
    root, store, run = run_with_text_encoder
    prompts = root / "prompts.yaml"
    prompts.write_text(
        "".join(f"{op}: [{op.replace('_', ' ')}, the surgeon performs {op}]\n" for op in OPS) + "suturing: suturing\n"
    )
    rep = evaluate_runs(store, [run], root / "rep", split="test", progress=False, prompts=prompts)
    assert rep["prompts"]["source"] == str(prompts) and "suturing" in rep["prompts"]["labels"]
    for m in rep["methods"]:
        assert m["result"]["recognition"]["classes"] == sorted([*OPS, "suturing"])
    md = (root / "rep" / "report.md").read_text()
    assert f"Zero-shot class prompts: {prompts}" in md
    assert "training-split operation text" not in md and f"prompts from {prompts}" in md  # issue 20: says what ran
    default = evaluate_runs(store, [run], root / "rep2", split="test", progress=False)
    assert default["prompts"]["source"].startswith("training captions")
    assert "suturing" not in default["methods"][1]["result"]["recognition"]["classes"]


def test_cli_reports_a_bad_prompts_file(run_with_text_encoder, capsys):
    root, store, run = run_with_text_encoder
    bad = root / "bad.yaml"
    bad.write_text("only_one: x\n")
    rc = main(
        [
            "report",
            "--cache",
            store.url,
            "--run",
            str(run),
            "--out",
            str(root / "r3"),
            "--prompts",
            str(bad),
            "--no-progress",
        ]
    )
    assert rc == 2 and "at least 2 labels" in capsys.readouterr().out


def test_prompt_template_sets_are_validated_and_fill_the_label_names():
    from hierskp.eval.tasks.prompt_templates import label_prompts, templates_of

    assert templates_of("video") == ("a video of {label}",)
    assert templates_of("a clip of {label} | {label}") == ("a clip of {label}", "{label}")
    with pytest.raises(ValueError, match=r"each with \{label\}.*the surgeon"):
        templates_of("{label}|the surgeon")
    prompts = label_prompts(["skin_closure", "mesh", "mesh"], templates_of("a video of {label}|{label}"))
    assert prompts == {"mesh": ["a video of mesh", "mesh"], "skin_closure": ["a video of skin closure", "skin closure"]}


def test_report_scores_zero_shot_with_a_template_ensemble_chosen_on_a_split(run_with_text_encoder):
    from hierskp.backbones import load_text_encoder
    from hierskp.eval.tasks.prompt_templates import TEMPLATE_SETS, choose_templates
    from hierskp.runs.model import load_run

    root, store, run = run_with_text_encoder
    rep = evaluate_runs(store, [run], root / "rep4", split="test", progress=False, prompt_templates="ensemble")
    assert rep["prompts"]["source"] == "templates ensemble" and rep["prompts"]["labels"] == sorted(OPS)
    with pytest.raises(ValueError, match="not both"):
        evaluate_runs(store, [run], root / "rep5", progress=False, prompts="p.yaml", prompt_templates="name")
    best, scores = choose_templates(store, load_run(run), load_text_encoder("default", device="cpu"), split="test")
    assert set(scores) == set(TEMPLATE_SETS) and all(0 <= s <= 1 for s in scores.values())
    assert scores[best] == max(scores.values())
