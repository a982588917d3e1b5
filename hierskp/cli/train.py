"""`hierskp train`: stage 2, the HierSKP heads on a feature cache (never a video, never the backbone)."""

from __future__ import annotations

import argparse

from hierskp.files import strict_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train the HierSKP heads on a feature cache, then score them on its held-out split (eval.json)"
    )
    p.add_argument("--cache", required=True, help="cache path or fsspec URL (required)")
    p.add_argument(
        "--out", required=True, help="run folder: config, checkpoints, metrics, final heads, eval.json (required)"
    )
    p.add_argument(
        "--config", default=None, help="YAML training config, see hierskp/train/config.py (default: built-in defaults)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint; its saved config wins (default: off, new run)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    p.add_argument(
        "--set",
        action="append",
        dest="overrides",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. losses.dtw.enabled=false or evaluate=false (repeatable; default: none)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from pydantic import ValidationError

    from cache_schema import CacheError
    from hierskp.experiments.train_and_evaluate import train_and_evaluate
    from hierskp.train import load_config

    try:
        cfg = load_config(
            args.config,
            args.overrides,
            cache=args.cache,
            out=args.out,
            seed=args.seed,
            progress=False if args.no_progress else None,
        )
        run_dir = train_and_evaluate(cfg, resume=args.resume)
    except (ValidationError, ValueError, FileExistsError, FileNotFoundError, CacheError) as exc:
        from hierskp.failures import one_line

        print(f"hierskp train: {one_line(exc) if isinstance(exc, ValidationError) else exc}")
        return 2
    from hierskp.runs.folder import EVAL, read_eval_result

    if (run_dir / EVAL).is_file():
        from hierskp.eval.tasks.retrieval import headline

        print(
            strict_json.dumps(
                {k: None if v is None else round(v, 2) for k, v in headline(read_eval_result(run_dir)).items()},
                indent=1,
            )
        )
    print(f"run folder: {run_dir}")
    return 0
