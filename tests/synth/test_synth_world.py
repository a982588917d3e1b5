"""World specs: the default world reproduces the corpus of the built-in tables it replaced, every kind of
bad spec is refused naming file, field and value, and the look-alike world has what it promises."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hierskp.eval.tasks.order_controls import twin_orders
from hierskp.synth.appearance import sample_nuisance, world_look
from hierskp.synth.config import get_config
from hierskp.synth.corpus import _world, plan_corpus
from hierskp.synth.grammar import Phase, ProcedureInstance, Segment
from hierskp.synth.render import VideoRenderer
from hierskp.synth.world import WORLDS_DIR, WorldError, load_world

# Computed with the code before world specs existed (commit 315b666, tables in grammar.py, appearance.py,
# vocab.py, render.py): sha256 of the manifest lines of plan_corpus(n, seed, preset) ...
MANIFEST_SHA256 = {
    (112, 0, "demo"): "7a525b9271ef5b599d4bbf3398d24b981b431d3126966b8c0beca6d69b4ff496",
    (6, 0, "tiny"): "a27ae7693b3b5c7dea7683c91929677ff967b07ffdbcde0752d685cdd6d55eed",
    (40, 7, "demo"): "d8d3327925f4a01ac519d305092163786363884b13ee67a29c4be328e520bf28",
}
# ... and of rendered frames (before encoding) of the first 8 demo videos (every procedure type): 8 frames
# every 60, rendered in that order by one renderer per video (the noise stream is consumed as rendered)
FRAMES_SHA256 = {
    0: "837d16c4bf39a1ad",
    1: "2aebe770ba162a73",
    2: "4283d6ce56dca5b7",
    3: "d2ccba4020149146",
    4: "4a7691f09e8ec3c7",
    5: "8fa97fd3350a18f4",
    6: "78eabf03c773b835",
    7: "23c7d55e687b61e7",
}


def _manifest_sha(plans) -> str:
    return hashlib.sha256("".join(json.dumps(p.record) + "\n" for p in plans).encode()).hexdigest()


@pytest.mark.parametrize("key", sorted(MANIFEST_SHA256))
def test_default_world_reproduces_the_annotations_of_the_builtin_tables(key) -> None:
    n, seed, preset = key
    assert _manifest_sha(plan_corpus(n, seed, get_config(preset), load_world("default"))) == MANIFEST_SHA256[key]


def test_default_world_reproduces_the_rendered_frames_of_the_builtin_tables() -> None:
    cfg, world = get_config("demo"), load_world("default")
    plans = plan_corpus(112, 0, cfg, world)
    got = {}
    for p in plans[:8]:
        rng = np.random.default_rng([0, 2, p.index])
        nuisance = sample_nuisance(rng, cfg.nuisance, world.nuisance)
        r = VideoRenderer(p.instance, cfg, _world(cfg.world_seed, world), nuisance, rng, world)
        h = hashlib.sha256()
        for i0 in range(0, p.instance.n_frames, 60):
            h.update(r.frames(i0, min(p.instance.n_frames, i0 + 8)).tobytes())
        got[p.index] = h.hexdigest()[:16]
    assert got == FRAMES_SHA256


def _spec(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((WORLDS_DIR / "default.yaml").read_text())
    edit(data)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _set(path: str, value):
    def edit(data: dict) -> None:
        *head, last = path.split(".")
        node = data
        for part in head:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return edit


def _both_looks(data: dict) -> None:
    data["operations"]["skin_closure"]["looks_like"] = "incision"


def _looks_like(name: str):
    def edit(data: dict) -> None:
        del data["operations"]["skin_closure"]["look"]
        data["operations"]["skin_closure"]["looks_like"] = name

    return edit


BAD_SPECS = [  # (what, edit, field named, value named)
    ("unknown field", _set("operations.incision.colour", "red"), "operations.incision.colour", "red"),
    ("unknown top-level field", _set("procedure", {}), "procedure", "{}"),
    ("wrong type", _set("operations.incision.weight", "heavy"), "operations.incision.weight", "heavy"),
    (
        "wrong type (list)",
        _set("procedures.mastectomy.names", "mastectomy"),
        "procedures.mastectomy.names",
        "mastectomy",
    ),
    (
        "undefined operation",
        _set("procedures.mastectomy.steps.2", "liposuction"),
        "procedures.mastectomy.steps.2",
        "liposuction",
    ),
    ("empty procedure", _set("procedures.mastectomy.steps", []), "procedures.mastectomy.steps", "[]"),
    ("bad colour (range)", _set("palettes.skin.base", [1.4, 0.5, 0.5]), "palettes.skin.base.0", "1.4"),
    ("bad colour (length)", _set("overlays.mesh", [0.9, 0.9]), "overlays.mesh", "[0.9, 0.9]"),
    ("undefined palette", _set("operations.incision.look.palette", "sk1n"), "operations.incision.look.palette", "sk1n"),
    (
        "undefined instrument",
        _set("operations.incision.instruments.1", "laser"),
        "operations.incision.instruments.1",
        "laser",
    ),
    ("undefined assist", _set("operations.exposure.look.assist", "hook"), "operations.exposure.look.assist", "hook"),
    (
        "undefined look-alike",
        _set("operations.incision.looks_like", "cutting"),
        "operations.incision.looks_like",
        "cutting",
    ),
    ("look and looks_like", _both_looks, "operations.skin_closure.looks_like", "incision"),
    ("bad enum", _set("operations.incision.look.motion", "wiggle"), "operations.incision.look.motion", "wiggle"),
    (
        "bad step probability",
        _set("procedures.mastectomy.steps.0", "incision?1.5"),
        "procedures.mastectomy.steps.0",
        "incision?1.5",
    ),
    ("undefined anatomy slot", _set("operations.incision.noun", "a {site} cut of {organ}"), "procedures.", "organ"),
    (
        "one procedure",
        lambda d: d.update(procedures={"mastectomy": d["procedures"]["mastectomy"]}),
        "procedures",
        "mastectomy",
    ),
]


@pytest.mark.parametrize("what,edit,field,value", BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_spec_is_refused_naming_file_field_and_value(tmp_path: Path, what, edit, field, value) -> None:
    path = _spec(tmp_path, edit)
    with pytest.raises(WorldError) as err:
        load_world(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and field in message and value in message, message


@pytest.mark.parametrize("text,problem", [("a: [1, 2", "not valid YAML"), ("- 1\n- 2\n", "a mapping")])
def test_unparseable_spec_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(WorldError, match=problem):
        load_world(path)
    with pytest.raises(WorldError, match="no such world file"):
        load_world(tmp_path / "missing.yaml")


@pytest.mark.slow
def test_cli_print_world_round_trips_and_bad_world_exits_2(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "hierskp", "synth"]
    printed = subprocess.run([*run, "--print-world"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert printed == (WORLDS_DIR / "default.yaml").read_text()
    spec = tmp_path / "mine.yaml"
    spec.write_text(printed)
    out = tmp_path / "c"
    cmd = [*run, "--world", str(spec), "--out", str(out), "--preset", "tiny", "--videos", "2", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = (out / "manifest.jsonl").read_text()
    assert rows == "".join(json.dumps(p.record) + "\n" for p in plan_corpus(2, 0, get_config("tiny")))
    assert json.loads((out / "synth_info.json").read_text())["world"]["name"] == "default"
    spec.write_text(printed.replace("weight: 0.7", "weight: -1"))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"{spec}: operations.incision.weight" in proc.stderr and "-1" in proc.stderr
    assert not (out / "manifest.jsonl").exists() or (out / "manifest.jsonl").read_text() == rows


def test_lookalike_world_has_40_twin_test_videos_differing_in_look_alike_steps() -> None:
    world = load_world("lookalike")
    plans = plan_corpus(112, 0, get_config("demo"), world)
    labels = {p.index: tuple(o["label"] for o in p.record["operations"]) for p in plans}
    twins = twin_orders((p.record["procedure"], labels[p.index]) for p in plans)
    test = [p for p in plans if p.split == "test"]
    assert sum((p.record["procedure"], labels[p.index]) in twins for p in test) >= 40
    for (proc, own), other in twins.items():  # exactly two adjacent steps swapped
        diff = [i for i, (a, b) in enumerate(zip(own, other)) if a != b]
        assert len(diff) == 2 and diff[1] == diff[0] + 1 and own[diff[0]] == other[diff[1]], (proc, own, other)
    assert {lab for p in plans for lab in labels[p.index]} >= {"final_hemostasis", "hemostasis"}


def test_look_alike_operation_renders_exactly_like_its_source_with_another_label() -> None:
    world, cfg = load_world("lookalike"), get_config("tiny")
    look = world_look(cfg.world_seed, world=world)

    def frames(op: str) -> np.ndarray:
        phases = (Phase(0.0, 4.0, "suction", 2.0),)
        inst = ProcedureInstance("vascular_control_a", 40, cfg.fps, (Segment(op, 0.0, 4.0, phases),))
        rng = np.random.default_rng(5)
        return VideoRenderer(inst, cfg, look, sample_nuisance(rng, 1.0, world.nuisance), rng, world).frames(0, 40)

    assert np.array_equal(frames("final_hemostasis"), frames("hemostasis"))
    assert not np.array_equal(frames("vessel_ligation"), frames("hemostasis"))
