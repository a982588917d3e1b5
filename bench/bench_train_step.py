"""Training-step benchmark: host syncs per step and step time, the sync-free step vs the code before it.

    python bench/bench_train_step.py                 # before = 99a9835 (git archive into a temp dir)
    python bench/bench_train_step.py --quick         # fewer rounds and steps
    python bench/bench_train_step.py --baseline-root /path/to/old/checkout --device cuda

"Before" runs the old checkout's `compute_losses` with the old loop body (loss check, backward,
clip, AdamW, scheduler, weight check, per-step `float()` logging); "after" runs this checkout's
`train_step` + `PendingSteps` (read back every `log_every` = 10 steps, checks at the flush). Same
synthetic cache, same config (the defaults: hidden 128, embed 256, 8 videos per batch), batches
collated up front (no data loading in the timing), one torch thread on the CPU.

Syncs are counted with `hierskp.testing.syncs.SyncCounter` (dispatch level: `.item()`/`int()`/
`float()`/`bool()`, `nonzero`, boolean-mask indexing, ...) over `log_every` steps, split into the
optimizer's own step-count reads (`torch.optim`: `.item()` on CPU tensors, no wait for a GPU) and the
rest. On the CPU a sync costs nothing, so the CPU time ratio shows the cost of the masked
formulation (full-size rows instead of indexed subsets); what the syncs cost on a GPU needs one.
Rounds alternate before/after in fresh processes; we report medians and the median per-round ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
BEFORE_REV = "99a9835"


def _counter_class():  # type: ignore[no-untyped-def]
    """This checkout's SyncCounter, loaded by path (the old checkout has none)."""
    spec = importlib.util.spec_from_file_location("_bench_syncs", HERE / "hierskp" / "testing" / "syncs.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.SyncCounter


def child(which: str, root: str, cache: str, steps: int, device_name: str) -> None:
    sys.path.insert(0, root)
    sys.path.insert(1, str(HERE))  # tests.fixtures only
    import torch

    from cache_schema import open_cache
    from hierskp.dataset.batch import collate
    from hierskp.dataset.catalog import catalog
    from hierskp.dataset.items import CacheVideoDataset
    from hierskp.models.heads import TEMPERATURE_LEVELS, HeadsConfig, HierSKPHeads
    from hierskp.train import load_config
    from hierskp.train.guards import check_losses, check_weights
    from hierskp.train.sampling import StepBatchSampler
    from hierskp.train.state import item_spec, param_groups, warmup_cosine

    assert Path(sys.modules["hierskp"].__file__).is_relative_to(root), "imported the wrong checkout"
    torch.set_num_threads(1)
    device = torch.device(device_name)
    cfg = load_config(None, [], cache=cache, out="-")
    store = open_cache(cache)
    index = catalog(store, cfg.data.train_splits)
    first = store.read_video(index[0].video_id)
    torch.manual_seed(0)
    heads = HeadsConfig(
        **cfg.model.model_dump(), vision_dim=int(first.features.shape[1]), text_dim=int(first.text_video().shape[-1])
    )
    model = HierSKPHeads(heads).to(device).train()
    opt = torch.optim.AdamW(param_groups(model, cfg.optim.weight_decay), lr=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(5, 1000, 0.05))
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    ds = CacheVideoDataset(cache, index, item_spec(cfg))
    sampler = StepBatchSampler([e.procedure for e in index], cfg.data.batch_videos, 0, 8)
    batches = [collate([ds[i] for i in keys]) for keys in sampler]
    log: list[dict] = []
    state = {"step": 0}

    if which == "before":
        from hierskp.train.objective import compute_losses

        def one() -> None:
            step = state["step"]
            batch = batches[step % len(batches)].to(device)
            gen = torch.Generator(device=device).manual_seed(step)
            total, parts = compute_losses(model, batch, cfg.losses, gen)
            check_losses(step + 1, total, parts)
            opt.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            scaler.unscale_(opt)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            state["step"] = step + 1
            check_weights(step + 1, model)
            losses = {"loss/total": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}
            temps = {k: float(model.temperature(k).detach()) for k in TEMPERATURE_LEVELS}
            log.append({"step": step + 1, "grad_norm": float(grad_norm), **losses, **temps})

    else:
        from hierskp.train.step import PendingSteps, train_step

        pending = PendingSteps(10)

        def one() -> None:
            step = state["step"]
            batch = batches[step % len(batches)].to(device, non_blocking=True)
            gen = torch.Generator(device=device).manual_seed(step)
            res = train_step(model, batch, cfg.losses, opt, scaler, cfg.optim.grad_clip, gen, None, sched)
            state["step"] = step = step + 1
            values = {"grad_norm": res.grad_norm, "loss/total": res.total, **res.parts}
            values |= {k: model.temperature(k).detach() for k in TEMPERATURE_LEVELS}
            pending.add(step, values)
            if pending.due(step):
                records = pending.flush()
                for rec in records:
                    check_losses(rec["step"], rec["loss/total"], {k: v for k, v in rec.items() if k != "step"})
                check_weights(step, model)
                log.extend(records)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(10):  # warm-up (and aligns "after" on its logging interval)
        one()
    counter = _counter_class()()
    with counter:
        for _ in range(10):
            one()
    optim = [e for e in counter.events if "torch.optim" in e]
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    sync()
    seconds = (time.perf_counter() - t0) / steps
    others = sorted({e.split(" @ ")[0] + " @ " + e.split(" @ ")[1].split(" via ")[0] for e in counter.events})
    print(
        json.dumps(
            {
                "which": which,
                "step_s": seconds,
                "syncs_per_step": len(counter.events) / 10,
                "syncs_per_step_no_optim": (len(counter.events) - len(optim)) / 10,
                "where": others[:60],
                "last_loss": log[-1]["loss/total"] if log else None,
            }
        )
    )


def extract_before(rev: str, dest: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(HERE), "archive", rev], capture_output=True, check=True)
    tar = dest / "before.tar"
    tar.write_bytes(proc.stdout)
    with tarfile.open(tar) as tf:
        tf.extractall(dest / "root", filter="data")
    return dest / "root"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--baseline-root", default=None, help=f"checkout of the code before (default: git archive {BEFORE_REV})"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30, help="timed steps per round")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(HERE / "bench" / "out" / "train_step.json"))
    ap.add_argument("--_child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        which, root, cache = args._child
        return child(which, root, cache, args.steps, args.device)
    if args.quick:
        args.rounds, args.steps = 2, 10
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        before_root = Path(args.baseline_root) if args.baseline_root else extract_before(BEFORE_REV, tmp_path)
        sys.path.insert(0, str(HERE))
        from tests.fixtures.synthetic_cache import make_synthetic_cache

        cache = str(tmp_path / "cache.zarr")
        make_synthetic_cache(cache, n_videos=40, seed=0)
        rows: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for which, root in (("before", before_root), ("after", HERE)):
                cmd = [sys.executable, __file__, "--_child", which, str(root), cache]
                cmd += ["--steps", str(args.steps), "--device", args.device]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, check=False)
                if proc.returncode:
                    sys.exit(f"{which} child failed:\n{proc.stderr[-3000:]}")
                rows[which].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r["step_s"] for r in v) for k, v in rows.items()}
    ratios = [b["step_s"] / a["step_s"] for b, a in zip(rows["before"], rows["after"], strict=True)]
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {args.device}, python {platform.python_version()}",
        "rounds": args.rounds,
        "steps": args.steps,
        "median_step_s": med,
        "median_ratio_before_over_after": statistics.median(ratios),
        "syncs_per_step": {k: v[0]["syncs_per_step"] for k, v in rows.items()},
        "syncs_per_step_without_optimizer_counts": {k: v[0]["syncs_per_step_no_optim"] for k, v in rows.items()},
        "where": {k: v[0]["where"] for k, v in rows.items()},
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("| | syncs/step | syncs/step (no optimizer step counts) | median step ms |")
    print("|---|---|---|---|")
    for k in ("before", "after"):
        s, s2 = result["syncs_per_step"][k], result["syncs_per_step_without_optimizer_counts"][k]
        print(f"| {k} | {s:.1f} | {s2:.1f} | {1000 * med[k]:.1f} |")
    print(f"step time before / after: {result['median_ratio_before_over_after']:.3f}x (per-round {ratios})")


if __name__ == "__main__":
    main()
