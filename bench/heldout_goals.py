"""Issue 23's held-out goals on a corpus the runs never saw, through the public API only.

    python bench/heldout_goals.py --cache unseen.zarr --run RUN [--run RUN ...] [--split test] [--templates name]

* **Label-name zero-shot**: every annotated operation of the split is one segment, embedded with
  `model.embed_segment(features[a:b])`; each label's class vector is the mean of `model.embed_texts` over
  the label name in every template of the set (`hierskp.eval.tasks.prompt_templates`, `name` = the bare name,
  underscores as spaces); the segment's class is the argmax cosine. Accuracy over segments, with the
  chance level (1 / number of labels) and the majority-label share as controls.
* **Moment P@5**: `bench_search.quality` (each label name is a query over the split's 4 s / 2 s moments,
  distinct hits, a hit counts if at least half its window lies in a segment of that label), with its
  random-ranking and frozen-baseline controls.

Prints one JSON line per run and writes them all to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_search import quality  # noqa: E402

import hierskp  # noqa: E402
from cache_schema import open_cache  # noqa: E402
from hierskp.dataset.catalog import catalog  # noqa: E402
from hierskp.eval.tasks.prompt_templates import label_prompts, templates_of  # noqa: E402


def label_zero_shot(model, store, split: str, templates: tuple[str, ...]) -> dict:
    videos = catalog(store, [split])
    labels = sorted({lab for v in videos for lab in v.op_labels})
    prompts = label_prompts(labels, templates)
    classes = np.stack([model.embed_texts(prompts[lab]).mean(0) for lab in labels])
    classes /= np.linalg.norm(classes, axis=1, keepdims=True)
    truth, pred = [], []
    for v in videos:
        feats = np.asarray(store.read_video(v.video_id).features[:], dtype=np.float32)
        segs = np.stack([model.embed_segment(feats[a:b]) for a, b in v.op_rows.tolist()])
        pred += [labels[i] for i in (segs @ classes.T).argmax(1)]
        truth += list(v.op_labels)
    truth_a, pred_a = np.asarray(truth), np.asarray(pred)
    counts = {lab: int((truth_a == lab).sum()) for lab in labels}
    return {
        "acc": float((truth_a == pred_a).mean()),
        "n_segments": len(truth),
        "n_videos": len(videos),
        "n_labels": len(labels),
        "chance": 1.0 / len(labels),
        "majority": max(counts.values()) / len(truth),
        "per_label_acc": {lab: float((pred_a[truth_a == lab] == lab).mean()) for lab in labels},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="the unseen corpus's cache (same backbone as the runs)")
    ap.add_argument("--run", action="append", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--templates", default="name", help="a template set of hierskp.eval.tasks.prompt_templates")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "heldout_goals.json"))
    args = ap.parse_args()
    store = open_cache(args.cache, "r")
    rows = []
    for run in args.run:
        model = hierskp.load_model(run)
        zs = label_zero_shot(model, store, args.split, templates_of(args.templates))
        with tempfile.TemporaryDirectory() as tmp:  # never writes an index into the run folder
            lib = hierskp.search_library(model, store, splits=[args.split], index_dir=tmp)
            q = quality(lib, store, [args.split], args.k, 0.5)
        row = {
            "run": run,
            "cache": args.cache,
            "split": args.split,
            "templates": args.templates,
            "label_zero_shot": zs,
            "moment_P@k": q["mean"],
            "k": args.k,
            "n_windows": q["n_windows"],
        }
        rows.append(row)
        short = {k: v for k, v in zs.items() if k != "per_label_acc"}
        print(json.dumps({"run": run, "label_zero_shot": short, "moment": q["mean"]}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print(seed_table(rows))


def seed_table(rows: list[dict]) -> str:
    """Runs named VARIANT_seedN (the ablation's folders) grouped by variant: mean and 95% t-interval over
    seeds of label-name zero-shot accuracy and moment P@k, with the controls of the first run."""
    from hierskp.eval.report.groups import interval
    from hierskp.numfmt import mean_ci

    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(Path(row["run"]).name.rsplit("_seed", 1)[0], []).append(row)
    first = rows[0]["label_zero_shot"], rows[0]["moment_P@k"]
    lines = [
        f"| variant | n | label-name zero-shot (chance {first[0]['chance']:.3f}, majority {first[0]['majority']:.3f}) "
        f"| moment P@{rows[0]['k']} (random {first[1]['chance_P@k'] / 100:.3f}, frozen {first[1]['frozen_P@k'] / 100:.3f}) |",
        "|---|---:|---:|---:|",
    ]
    for name, group in groups.items():
        zs = interval([r["label_zero_shot"]["acc"] for r in group])
        pk = interval([r["moment_P@k"]["P@k"] / 100 for r in group])
        cells = [mean_ci(i["mean"], i["ci95"], decimals=3) for i in (zs, pk)]
        lines.append(f"| {name} | {zs['n']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
