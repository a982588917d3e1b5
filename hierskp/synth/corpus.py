"""Corpus generation: plan every video (procedure, timing, texts, split) up front from the
seed, then render/encode videos (optionally in parallel processes) and write the manifest.

Planning is cheap and sequential, rendering is per-video seeded, so the output does not
depend on the number of workers or the order in which videos finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write_text
from hierskp.ingest.manifest import SPLITS
from hierskp.synth.appearance import WorldLook, sample_nuisance, world_look
from hierskp.synth.config import SynthConfig, get_config
from hierskp.synth.grammar import DEFAULT_WORLD, ProcedureInstance, sample_instance
from hierskp.synth.render import VideoRenderer
from hierskp.synth.texts import TextSampler
from hierskp.synth.world import load_world, world_digest
from hierskp.synth.world_spec import World
from hierskp.synth.writer import write_mp4


@dataclass(frozen=True)
class VideoPlan:
    index: int
    video_id: str
    split: str
    instance: ProcedureInstance
    record: dict  # the manifest line


def assign_procedures(rng: np.random.Generator, n: int, world: World = DEFAULT_WORLD) -> list[str]:
    """Shuffled round-robin over procedure types: balanced counts, random order."""
    types = tuple(world.procedures)
    out: list[str] = []
    while len(out) < n:
        out += [types[i] for i in rng.permutation(len(types))]
    return out[:n]


def assign_splits(rng: np.random.Generator, procedures: list[str], fractions: tuple[float, ...]) -> list[str]:
    """Round-robin over procedure types: test first takes one video of each type (when there are
    enough test slots), then val, then train; pretrain gets the rest. `fractions`: pretrain, train,
    val, test."""
    n = len(procedures)
    n_test, n_val, n_train = (round(n * f) for f in (fractions[3], fractions[2], fractions[1]))
    if n >= 3:
        n_test, n_val, n_train = (
            max(k, f > 0) for k, f in ((n_test, fractions[3]), (n_val, fractions[2]), (n_train, fractions[1]))
        )
    seen: dict[str, int] = {}
    rank = []
    for p in procedures:
        rank.append(seen.get(p, 0))
        seen[p] = rank[-1] + 1
    order = sorted(range(n), key=lambda i: (rank[i], rng.random()))
    split = ["pretrain"] * n
    for pos, i in enumerate(order):
        split[i] = (
            "test"
            if pos < n_test
            else "val"
            if pos < n_test + n_val
            else "train"
            if pos < n_test + n_val + n_train
            else "pretrain"
        )
    return split


def plan_corpus(n_videos: int, seed: int, cfg: SynthConfig, world: World = DEFAULT_WORLD) -> list[VideoPlan]:
    """Everything but the pixels, deterministic in (n_videos, seed, cfg, world)."""
    if seed < 0 or n_videos < 1:
        raise ValueError("need seed >= 0 and n_videos >= 1")
    rng = np.random.default_rng([seed, 0])
    procedures = assign_procedures(rng, n_videos, world)
    splits = assign_splits(rng, procedures, cfg.split_fractions)
    texts = TextSampler(cfg.heldout_fraction, world=world)
    plans = []
    for i, (proc, split) in enumerate(zip(procedures, splits)):
        vrng = np.random.default_rng([seed, 1, i])
        inst = sample_instance(vrng, proc, cfg, world)
        held = split in ("val", "test")  # held-out phrasings: val chooses defaults as test would score them
        video_id = f"synth_s{seed}_{i:05d}"
        ops = [s.op for s in inst.segments]
        record = {
            "video_id": video_id,
            "video": f"videos/{video_id}.mp4",
            "split": split,
            "procedure": proc,
            "text": texts.video(vrng, proc, ops, held),
            "duration": round(inst.duration, 4),
            "operations": [
                {
                    "start": round(s.start, 4),
                    "end": round(s.end, 4),
                    "label": s.op,
                    "text": texts.operation(vrng, proc, s.op, held),
                }
                for s in inst.segments
            ],
            "frames": [
                {"time": ph.time, "text": texts.narration(vrng, proc, s.op, ph.instrument, held)}
                for s in inst.segments
                for ph in s.phases
            ],
        }
        if cfg.captions_per_annotation > 1 and not held:
            add_paraphrases(record, inst, np.random.default_rng([seed, 3, i]), texts, cfg.captions_per_annotation - 1)
        plans.append(VideoPlan(i, video_id, split, inst, record))
    return plans


def _distinct(make: Callable[[], str], primary: str, n: int, tries: int = 8) -> list[str]:
    """Up to `n` captions unlike `primary` and each other (fewer when the phrasings run out)."""
    out: list[str] = []
    for _ in range(n):
        for _ in range(tries):
            text = make()
            if text != primary and text not in out:
                out.append(text)
                break
    return out


def add_paraphrases(
    record: dict, inst: ProcedureInstance, rng: np.random.Generator, texts: TextSampler, n: int
) -> None:
    """Add `texts` (n paraphrases) beside each `text` of a training video's record. `rng` is a stream of
    its own, so videos, primary texts and splits are the same whatever `n` is."""
    proc = record["procedure"]
    ops = [s.op for s in inst.segments]
    record["texts"] = _distinct(lambda: texts.video(rng, proc, ops, False), record["text"], n)
    for o, seg in zip(record["operations"], inst.segments):
        o["texts"] = _distinct(lambda op=seg.op: texts.operation(rng, proc, op, False), o["text"], n)
    phases = [(s.op, ph.instrument) for s in inst.segments for ph in s.phases]
    for f, (op, instrument) in zip(record["frames"], phases):
        f["texts"] = _distinct(lambda op=op, ins=instrument: texts.narration(rng, proc, op, ins, False), f["text"], n)


_LOOKS: dict[tuple[str, int], WorldLook] = {}


def _world(world_seed: int, world: World = DEFAULT_WORLD) -> WorldLook:
    """The seeded details of a world, drawn once per (world content, seed) in a process."""
    key = (world_digest(world), world_seed)
    if key not in _LOOKS:
        _LOOKS[key] = world_look(world_seed, world=world)
    return _LOOKS[key]


def render_video(plan: VideoPlan, cfg: SynthConfig, seed: int, path: Path, world: World = DEFAULT_WORLD) -> Path:
    """Render and encode one planned video (atomic write)."""
    rng = np.random.default_rng([seed, 2, plan.index])
    nuisance = sample_nuisance(rng, cfg.nuisance, world.nuisance)
    renderer = VideoRenderer(plan.instance, cfg, _world(cfg.world_seed, world), nuisance, rng, world)
    n, chunk = plan.instance.n_frames, max(1, min(cfg.chunk_frames, 2**20 // (cfg.width * cfg.height)))
    frames = (f for i0 in range(0, n, chunk) for f in renderer.frames(i0, min(n, i0 + chunk)))
    write_mp4(path, frames, cfg.fps, crf=cfg.crf, gop=max(1, round(cfg.gop_seconds * cfg.fps)), preset=cfg.x264_preset)
    return path


def activitynet(plans: list[VideoPlan]) -> dict:
    """Operation segments in ActivityNet format, handy for temporal-localisation evaluation."""
    return {
        "version": "hierskp-synth-1",
        "database": {
            p.video_id: {
                "subset": p.split,
                "duration": p.record["duration"],
                "annotations": [
                    {"segment": [o["start"], o["end"]], "label": o["label"]} for o in p.record["operations"]
                ],
            }
            for p in plans
        },
    }


def generate_corpus(
    out_dir: str | os.PathLike,
    n_videos: int,
    seed: int = 0,
    config: SynthConfig | str = "demo",
    workers: int = 1,
    progress: bool = True,
    force: bool = False,
    world: World | str | os.PathLike = "default",
) -> Path:
    """Write DIR/videos/*.mp4, DIR/manifest.jsonl, DIR/annotations_activitynet.json and
    DIR/synth_info.json; returns the manifest path (written last, so it marks completeness).
    DIR must be new, empty or an earlier corpus (`hierskp.files.outdir`), unless `force`.
    `world`: a loaded world, a packaged world's name or a world spec file."""
    from tqdm import tqdm

    from hierskp.files.outdir import claim_output_dir

    cfg = get_config(config) if isinstance(config, str) else config
    spec = world if isinstance(world, World) else load_world(world)
    out = claim_output_dir(out_dir, "synth corpus", legacy=("synth_info.json",), force=force, hint=", or --force")
    (out / "videos").mkdir(parents=True, exist_ok=True)
    plans = plan_corpus(n_videos, seed, cfg, spec)
    bar = tqdm(total=len(plans), desc="synth videos", unit="video", disable=not progress)
    if workers <= 1:
        for p in plans:
            render_video(p, cfg, seed, out / p.record["video"], spec)
            bar.update()
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(render_video, p, cfg, seed, out / p.record["video"], spec) for p in plans]
            for f in as_completed(futures):
                f.result()
                bar.update()
    bar.close()
    info = {
        "seed": seed,
        "n_videos": n_videos,
        "config": asdict(cfg),
        "world": {"name": spec.name, "digest": world_digest(spec)},
        "procedures": list(spec.procedures),
        "operations": list(spec.operations),
        "splits": {s: sum(p.split == s for p in plans) for s in SPLITS},
    }
    atomic_write_text(out / "synth_info.json", strict_json.dumps(info, indent=1) + "\n")
    atomic_write_text(out / "annotations_activitynet.json", strict_json.dumps(activitynet(plans)) + "\n")
    manifest = out / "manifest.jsonl"
    atomic_write_text(manifest, "".join(strict_json.dumps(p.record) + "\n" for p in plans))
    return manifest
