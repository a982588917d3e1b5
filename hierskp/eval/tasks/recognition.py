"""Operation recognition on a held-out split: zero-shot against class prompts and a linear probe,
per frame (labels from the annotated segments) and per annotated segment.

The cache holds text *embeddings* only (the text encoder is never loaded at evaluation), so a class
prompt cannot come from a template: it is the mean, in the shared space, of the run's embeddings of
every operation text of that class in the prompt splits (the splits the heads were trained on),
i.e. CLIP-style prompt ensembling over the training captions. The probe is fitted on the `train`
split and scored on the test split; metrics are pooled and per-video averaged (SurgVLP style).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.eval.metrics.classification import recognition_metrics, zero_shot_scores
from hierskp.eval.tasks.dense import DenseSplit, dense_split
from hierskp.eval.tasks.embed import LevelData, LevelEmbeddings, embed_split
from hierskp.eval.tasks.frame_probe import LinearProbe, fit_frame_probe, fit_probe
from hierskp.eval.tasks.prompts import prompt_classes
from hierskp.models.embedders import Embedder
from hierskp.runs.model import RunModel


@dataclass
class TaskInputs:
    """Everything recognition and localization need for one method, embedded once."""

    method: str
    classes: list[str]
    prompts: np.ndarray  # [C, E] L2-normalised class prompts
    test: DenseSplit
    train: DenseSplit  # fits probes, calibrates temperatures
    seg_test: LevelData  # operation level: one row per annotated segment
    seg_train: LevelData
    temperature: float | None  # the run's learned frame-level temperature (None: frozen baseline)


@torch.no_grad()
def class_prompts(
    store: CacheStore, embedder: Embedder, splits: tuple[str, ...] | list[str]
) -> tuple[list[str], np.ndarray]:
    """(sorted class labels, [C, E] prompts): per label, the normalised mean of its embedded op texts."""
    texts: dict[str, list[np.ndarray]] = {}
    for entry in catalog(store, list(splits)):
        rows = store.read_video(entry.video_id).text_operations()
        for label, row in zip(entry.op_labels, rows):
            texts.setdefault(label, []).append(row)
    if len(texts) < 2:
        raise ValueError(f"{store.url}: fewer than 2 operation classes in splits {list(splits)}")
    classes = sorted(texts)
    prompts = []
    for c in classes:
        emb = embedder.text(torch.from_numpy(np.asarray(texts[c], dtype=np.float32))).float().numpy()
        mean = emb.mean(axis=0)
        prompts.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return classes, np.stack(prompts).astype(np.float32)


def task_inputs(
    store: CacheStore,
    model: RunModel,
    split: str = "test",
    train_split: str = "train",
    prompt_splits: tuple[str, ...] | None = None,
    progress: bool = True,
    test_levels: LevelEmbeddings | None = None,
    train_levels: LevelEmbeddings | None = None,
    prompts: dict[str, np.ndarray] | None = None,
) -> TaskInputs:
    """Embed the test and probe-training splits per frame and per segment, and the class prompts
    (the splits the run was trained on, unless `prompt_splits`; or the user's `prompts`, raw prompt
    embeddings per label). `test_levels` / `train_levels`:
    `embed_split` results of `split` / `train_split` already at hand."""
    embedder = model.embedder
    if prompts is not None:  # user prompts (`hierskp.eval.tasks.prompts.encode_prompts`), any labels
        classes, class_emb = prompt_classes(prompts, embedder)
    else:
        classes, class_emb = class_prompts(store, embedder, prompt_splits or model.train_splits)
    heads = model.heads
    temperature = float(heads.temperature("frame").detach()) if heads is not None else None
    return TaskInputs(
        method=embedder.method,
        classes=classes,
        prompts=class_emb,
        test=dense_split(store, model, split, progress=progress),
        train=dense_split(store, model, train_split, progress=progress),
        seg_test=(test_levels or embed_split(store, model, split)).levels["operation"],
        seg_train=(train_levels or embed_split(store, model, train_split)).levels["operation"],
        temperature=temperature,
    )


def safe_metrics(y: np.ndarray | list[str], pred: np.ndarray | None, vids: Any) -> dict[str, Any]:
    """`recognition_metrics` plus each video's accuracy (for paired comparisons between methods),
    or the reason they cannot be computed."""
    if pred is None:
        return {"skipped": "no probe: the train split has too few labelled rows or classes"}
    if len(y) == 0:
        return {"skipped": "nothing labelled to score"}
    y, pred, vids = np.asarray(y), np.asarray(pred), np.asarray(vids)
    per_video = {str(v): float(np.mean(y[vids == v] == pred[vids == v])) for v in np.unique(vids)}
    return {**recognition_metrics(y, pred, vids), "per_video_accuracy": per_video}


def _zero_shot(emb: np.ndarray, inputs: TaskInputs) -> np.ndarray:
    return np.asarray(inputs.classes)[zero_shot_scores(emb, inputs.prompts).argmax(axis=1)]


def recognition_eval(
    inputs: TaskInputs, probe: LinearProbe | None = None
) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """(metrics, per-test-video frame predictions {"zero_shot": [...], "linear_probe": [...]}).

    metrics[mode][unit] for mode in zero_shot/linear_probe and unit in frame/segment hold
    `recognition_metrics` (fractions in [0, 1]: pooled accuracy/macro_f1 and video_* means).
    Frames outside every annotated operation are not scored.
    """
    x, y, v = inputs.test.stacked()
    xp = inputs.test.stacked(probe=True)[0]
    probe = probe or fit_frame_probe(inputs.train)
    seg_probe = fit_probe(inputs.seg_train.video, np.asarray(inputs.seg_train.labels))
    seg = inputs.seg_test
    metrics: dict[str, Any] = {
        "zero_shot": {
            "frame": safe_metrics(y, _zero_shot(x, inputs), v),
            "segment": safe_metrics(seg.labels, _zero_shot(seg.video, inputs), seg.video_ids),
        },
        "linear_probe": {
            "frame": safe_metrics(y, probe.predict(xp) if probe else None, v),
            "segment": safe_metrics(seg.labels, seg_probe.predict(seg.video) if seg_probe else None, seg.video_ids),
        },
        "classes": inputs.classes,
        "n_frames": int(len(y)),
        "n_segments": len(seg.labels),
        "n_videos": len(inputs.test.video_ids),
        "n_train_frames": int(sum(int((lab != "").sum()) for lab in inputs.train.labels)),
        "unseen_test_labels": sorted(set(y.tolist()) - set(inputs.classes)),
    }
    preds = {
        "zero_shot": [_zero_shot(e, inputs) for e in inputs.test.embeddings],
        "linear_probe": [probe.predict(e) for e in inputs.test.probe_inputs()] if probe else [],
    }
    return metrics, preds
