"""`hierskp report` (alias `evaluate`): the stage-3 report of trained runs (frozen baseline + runs side by
side) on a held-out split. Each run's heads are loaded once and each split embedded once per method."""

from __future__ import annotations

import argparse

from hierskp.ingest.manifest import SPLITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        aliases=["evaluate"],
        help="evaluate runs: retrieval, order, recognition, localization; frozen baseline and runs side by side",
        description="`hierskp report` (alias `hierskp evaluate`): evaluate trained runs on a held-out split of a "
        "cache (retrieval, order, recognition, localization), the frozen baseline and the runs side by side, "
        "into OUT/report.md, report.json and plots.",
    )
    p.add_argument("--cache", required=True, help="cache path or fsspec URL the runs were trained on (required)")
    p.add_argument(
        "--run",
        action="append",
        dest="runs",
        required=True,
        metavar="RUN",
        help="run folder (repeatable, at least one); the first is the reference 'HierSKP', the others ablations "
        "or anchors; runs whose configs differ only in the seed are also reported as one method (mean ± 95%% "
        "t-interval over seeds)",
    )
    p.add_argument(
        "--out", required=True, help="report folder: report.json, report.md, PNGs, detection JSON (required)"
    )
    p.add_argument("--split", default="test", choices=SPLITS, help="held-out split to score (default: test)")
    p.add_argument(
        "--name",
        action="append",
        dest="names",
        default=None,
        metavar="NAME",
        help="display name of the run at the same position (default: from config differences)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the heads are small, as in training; 0 = torch's default)",
    )
    p.add_argument(
        "--prompts",
        default=None,
        help="YAML of label -> prompt string(s) for zero-shot recognition and TAL, embedded by the run's text "
        "encoder (default: unset, each class's training captions)",
    )
    p.add_argument(
        "--prompt-templates",
        default=None,
        metavar="SET",
        help="zero-shot prompts from the label names: each class is the mean of its name in every template of "
        "SET (name, video, surgeon, clinical, ensemble; or templates joined by '|', each with {label}); "
        "choose SET on val (default: unset, each class's training captions)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: shown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from cache_schema import CacheError, open_cache
    from hierskp.eval.report.build import evaluate_runs
    from hierskp.eval.report.groups import cell as group_cell

    if args.names and len(args.names) > len(args.runs):
        print(f"hierskp report: {len(args.names)} --name for {len(args.runs)} --run")
        return 2
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        store = open_cache(args.cache, "r")
        report = evaluate_runs(
            store,
            args.runs,
            args.out,
            split=args.split,
            names=args.names,
            progress=not args.no_progress,
            prompts=args.prompts,
            prompt_templates=args.prompt_templates,
        )
    except (CacheError, FileNotFoundError, ValueError) as exc:
        print(f"hierskp report: {exc}")
        return 2
    rows = {name: t["summary"] for name, t in report["table"].items()}
    cols = list(next(iter(rows.values())))
    print(f"{'method':32s} " + " ".join(f"{c:>16s}" for c in cols))
    for name, row in rows.items():
        print(f"{name[:32]:32s} " + " ".join(f"{'-' if row[c] is None else f'{row[c]:.1f}':>16s}" for c in cols))
    groups = [g for g in report["groups"] if len(g["methods"]) > 1]
    if groups:
        gt = report["group_table"]
        print("\nacross seeds (runs differing only in seed: mean ± 95% t-interval half-width, n runs)")
        print(f"{'method':32s} {'n':>2s} " + " ".join(f"{c:>16s}" for c in cols))
        for g in report["groups"]:
            cells = " ".join(f"{group_cell(gt[g['name']]['summary'][c]):>16s}" for c in cols)
            print(f"{g['name'][:32]:32s} {len(g['methods']):2d} {cells}")
    print(f"report: {args.out}/report.md ({time.perf_counter() - t0:.0f} s)")
    return 0
