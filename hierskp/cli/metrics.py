"""`hierskp metrics ...` (alias `eval`): stage-3 metrics from files (detection mAP, retrieval R@K).

Scores files someone else produced; `hierskp report` (alias `evaluate`) evaluates trained runs."""

from __future__ import annotations

import argparse
import sys

from hierskp.files import strict_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics", aliases=["eval"], help="metrics from files: detection mAP (ActivityNet JSON), retrieval R@K (.npy)"
    )
    sub = parser.add_subparsers(dest="eval_command", required=True)

    det = sub.add_parser("detection", help="ActivityNet-protocol temporal action localization mAP")
    det.add_argument(
        "--ground-truth", required=True, help="ActivityNet ground-truth JSON ({'database': ...}) (required)"
    )
    det.add_argument("--predictions", required=True, help="ActivityNet results JSON ({'results': ...}) (required)")
    det.add_argument(
        "--tiou",
        type=float,
        nargs="+",
        default=[0.3, 0.4, 0.5, 0.6, 0.7],
        help="tIoU thresholds (default: 0.3 0.4 0.5 0.6 0.7)",
    )
    det.add_argument(
        "--subset", default=None, help="evaluate only ground-truth videos of this subset, e.g. test (default: all)"
    )
    det.add_argument(
        "--extra-videos",
        choices=("fp", "ignore"),
        default="fp",
        help="predictions for videos absent from GT: false positives as in ActivityNet (default) or ignored",
    )
    det.add_argument("--per-class", action="store_true", help="also print AP per class (default: off)")
    det.set_defaults(func=_detection)

    ret = sub.add_parser("retrieval", help="R@1/5/10, MedR, MeanR from a similarity matrix")
    ret.add_argument(
        "--similarity", required=True, help=".npy [Nq, Nc] float similarity; row i's answer is column i (required)"
    )
    ret.add_argument(
        "--targets", default=None, help=".npy int [Nq]: answer column per row (many-to-one) (default: the diagonal)"
    )
    ret.add_argument(
        "--both",
        action="store_true",
        help="similarity is video x text: print v2t and t2v (--targets maps text -> video) (default: off)",
    )
    ret.set_defaults(func=_retrieval)


def _fail(message: str) -> int:
    print(f"hierskp metrics: error: {message}", file=sys.stderr)
    return 2


def _detection(args: argparse.Namespace) -> int:
    from hierskp.eval.metrics.detection import detection_map
    from hierskp.eval.metrics.detection_io import DetectionFormatError, read_ground_truth, read_predictions

    try:
        gt = read_ground_truth(args.ground_truth, subset=args.subset)
        preds = read_predictions(args.predictions)
        result = detection_map(gt, preds, args.tiou, extra_videos=args.extra_videos)
    except (DetectionFormatError, ValueError, OSError) as exc:
        return _fail(str(exc))
    if result.n_unknown_label:
        print(f"warning: ignored {result.n_unknown_label} predictions whose label has no ground truth", file=sys.stderr)
    if result.n_extra_video:
        how = "counted as false positives" if args.extra_videos == "fp" else "ignored"
        print(
            f"warning: {result.n_extra_video} predictions are for videos not in the ground truth"
            f"{' subset' if args.subset else ''}; {how}",
            file=sys.stderr,
        )
    out: dict[str, object] = dict(result.summary())
    if args.per_class:
        out["per_class_AP"] = {
            c: dict(zip((f"{t:g}" for t in result.tiou_thresholds), ap)) for c, ap in result.per_class.items()
        }
    print(strict_json.dumps(out, indent=1))
    return 0


def _retrieval(args: argparse.Namespace) -> int:
    import numpy as np

    from hierskp.eval.metrics.retrieval import bidirectional_retrieval_metrics, retrieval_metrics

    try:
        sim = np.load(args.similarity, allow_pickle=False)
        targets = None if args.targets is None else np.load(args.targets, allow_pickle=False)
        if args.both:
            out: object = bidirectional_retrieval_metrics(sim, targets)
        else:
            out = retrieval_metrics(sim, targets)
    except (ValueError, OSError) as exc:
        return _fail(f"{args.similarity}: {exc}")
    print(strict_json.dumps(out, indent=1))
    return 0
