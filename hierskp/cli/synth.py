"""`hierskp synth`: write the embedded synthetic corpus (H.264 videos + manifest.jsonl)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hierskp.ingest.manifest import SPLITS

DEFAULT_VIDEOS = {"tiny": 6, "demo": 112, "bench": 8}


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 128x96, got {text!r}") from None
    return w, h


def _duration(text: str) -> tuple[float, float]:
    try:
        lo, _, hi = text.partition("-")
        return float(lo), float(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SECONDS or MIN-MAX, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic corpus of surgical-style videos with annotations, to try everything",
        description="Write OUT/videos/*.mp4 (H.264), OUT/manifest.jsonl and OUT/annotations_activitynet.json: "
        "procedure-structured videos with operation and narration annotations. Same seed, same corpus.",
    )
    p.add_argument("--out", default=None, help="output folder (default: none; required unless --print-world)")
    p.add_argument(
        "--world",
        default="default",
        metavar="NAME|FILE",
        help="the world the corpus is drawn from: a packaged world (default, lookalike) or a world spec YAML "
        "file (start from `--print-world`) (default: default, the built-in world)",
    )
    p.add_argument(
        "--print-world",
        nargs="?",
        const="default",
        default=None,
        metavar="NAME|FILE",
        help="write a world spec (the default world unless named) to stdout and exit",
    )
    _corpus_options(p)
    p.set_defaults(func=run)


def _corpus_options(p: argparse.ArgumentParser) -> None:
    """How many videos, their size, rate and length, the captions, and how they are written."""
    p.add_argument("--videos", type=int, default=None, help="number of videos (default: 6 tiny, 48 demo, 8 bench)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the corpus (default: 0)")
    p.add_argument(
        "--preset",
        choices=sorted(DEFAULT_VIDEOS),
        default="demo",
        help="tiny: 64x48 short clips for tests; demo: 128x96 at 10 fps, 40-120 s; bench: 320x240 at 25 fps, "
        "60-180 s (default: demo)",
    )
    p.add_argument(
        "--size", type=_size, default=None, metavar="WxH", help="frame size, even numbers (default: the preset's)"
    )
    p.add_argument("--fps", type=float, default=None, help="frame rate (default: the preset's)")
    p.add_argument(
        "--duration",
        type=_duration,
        default=None,
        metavar="MIN-MAX",
        help="video duration range in seconds, or one value (default: the preset's)",
    )
    p.add_argument(
        "--captions-per-annotation",
        type=int,
        default=None,
        metavar="N",
        help="captions per annotation of pretrain/train videos: the primary `text` plus N-1 paraphrases in `texts`; "
        "1 writes no `texts` (the corpus as before they existed); videos, primary texts and splits never depend "
        "on it (default: 3)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="parallel encoder processes; the output does not depend on it (default: %(default)s)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty folder hierskp did not create, replacing files of the same names "
        "(default: off, refused)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (default: shown)")


def run(args: argparse.Namespace) -> int:
    import sys

    from hierskp.synth.world import WorldError, load_world, world_path

    try:
        if args.print_world is not None:
            load_world(args.print_world)  # a named world is checked before it is shown
            sys.stdout.write(world_path(args.print_world).read_text(encoding="utf-8"))
            return 0
        world = load_world(args.world)
    except WorldError as exc:
        print(f"hierskp synth: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        print("hierskp synth: --out is required (or --print-world)", file=sys.stderr)
        return 2
    cfg = _corpus_config(args)
    if cfg is None:
        return 2
    n = args.videos if args.videos is not None else DEFAULT_VIDEOS[args.preset]
    if n < 1 or args.seed < 0:
        print("hierskp synth: need --videos >= 1 and --seed >= 0", file=sys.stderr)
        return 2
    return _generate(args, n, cfg, world)


def _corpus_config(args: argparse.Namespace) -> Any:
    """The preset with the command line's overrides; None (after saying why) when they are invalid."""
    import sys

    from hierskp.synth.config import get_config

    width, height = args.size or (None, None)
    lo, hi = args.duration or (None, None)
    try:
        cfg = get_config(
            args.preset,
            width=width,
            height=height,
            fps=args.fps,
            min_duration=lo,
            max_duration=hi,
            captions_per_annotation=args.captions_per_annotation,
        )
    except ValueError as exc:
        print(f"hierskp synth: {exc}", file=sys.stderr)
        return None
    return cfg


def _generate(args: argparse.Namespace, n: int, cfg: Any, world: Any) -> int:
    import json
    import sys
    import time

    from hierskp.synth.corpus import generate_corpus

    start = time.perf_counter()
    from hierskp.files.outdir import OutputFolderNotOurs

    try:
        manifest = generate_corpus(
            args.out,
            n,
            args.seed,
            cfg,
            workers=args.workers,
            progress=not args.no_progress,
            force=args.force,
            world=world,
        )
    except OutputFolderNotOurs as exc:
        print(f"hierskp synth: error: {exc}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    total = sum(r["duration"] for r in rows)
    splits = {s: sum(r["split"] == s for r in rows) for s in SPLITS}
    print(
        f"wrote {manifest} (world {world.name}, {len(rows)} videos, {total / 60:.1f} min of video, {cfg.width}x{cfg.height} "
        f"@ {cfg.fps:g} fps, splits {splits}) in {time.perf_counter() - start:.1f}s"
    )
    return 0
