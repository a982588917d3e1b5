"""Zero-shot frame accuracy of every prompt-template set (`hierskp.eval.tasks.prompt_templates.TEMPLATE_SETS`)
per run, on val (where the set is chosen) and test (reported), and the mean over the runs given.

    python bench/choose_prompt_templates.py --cache demo.zarr --run RUN [--run RUN ...] [--splits val test]

The chosen set is the best mean on the first split (val); ties go to the earlier set (`name` first).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cache_schema import open_cache
from hierskp.backbones import load_text_encoder
from hierskp.eval.tasks.prompt_templates import TEMPLATE_SETS, choose_templates
from hierskp.runs.model import load_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--run", action="append", required=True)
    ap.add_argument("--splits", nargs="+", default=["val", "test"])
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "prompt_templates.json"))
    args = ap.parse_args()
    store = open_cache(args.cache, "r")
    encoder = load_text_encoder("default", device="cpu")
    per_run = {}
    for run in args.run:
        model = load_run(run)
        per_run[run] = {split: choose_templates(store, model, encoder, split=split)[1] for split in args.splits}
        print(json.dumps({"run": run, **per_run[run]}), flush=True)
    mean = {
        split: {s: 100 * float(np.mean([per_run[r][split][s] for r in args.run])) for s in TEMPLATE_SETS}
        for split in args.splits
    }
    first = mean[args.splits[0]]
    chosen = max(first, key=lambda k: (round(first[k], 9), -list(first).index(k)))
    for split in args.splits:
        print(f"{split}: " + ", ".join(f"`{s}` {v:.1f}" for s, v in mean[split].items()))
    print(f"chosen on {args.splits[0]}: {chosen}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"per_run": per_run, "mean": mean, "chosen": chosen}, indent=1))


if __name__ == "__main__":
    main()
