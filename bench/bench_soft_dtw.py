"""Soft-DTW forward+backward benchmark: ours vs pysdtw (numba) vs a per-cell Python loop.

    python bench/bench_soft_dtw.py            # full run, writes bench/soft_dtw.md
    python bench/bench_soft_dtw.py --quick    # fewer repeats, prints only

Problem: B=64 pairs, sequences 64 x 128, dim 256, squared-Euclidean cost, CPU, warm (numba
compiled, one untimed call first), in float32 and in float64 (equal precision: pysdtw's DP is
always float64). Each timed call builds the cost from raw sequences and back-propagates to them.
All methods run interleaved (ours, ref, ours, ref, ...) so that background load hits them alike;
we report medians and the median of the per-round ratios. With a CUDA device the same problem also
runs on it (ours: the Triton kernels; pysdtw: its numba CUDA kernel); without one those rows say
"not measured".
The per-cell loop follows PeskaVLP's released soft-DTW (one Python iteration per DP cell, the
table cloned on every assignment so autograd can track it); it is run on a few pairs and scaled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hierskp.losses import pairwise_cost, soft_dtw  # noqa: E402
from hierskp.losses.soft_dtw import resolve_backend  # noqa: E402

B, N, M, D = 64, 64, 128, 256


def inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, N, D, generator=g).requires_grad_()
    y = torch.randn(batch, M, D, generator=g).requires_grad_()
    return x, y


def ours(x: torch.Tensor, y: torch.Tensor, gamma: float, backend: str = "auto") -> torch.Tensor:
    return soft_dtw(pairwise_cost(x, y), gamma, backend=backend)


def make_pysdtw(gamma: float, cuda: bool = False):
    from pysdtw import SoftDTW

    return SoftDTW(gamma=gamma, use_cuda=cuda)


def percell_loop(x: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """Straightforward per-cell soft-DTW in the style of PeskaVLP's ``smoothDTW`` (minGamma)."""
    out = []
    for xb, yb in zip(x, y):
        dist = torch.cdist(xb, yb) ** 2
        n, m = dist.shape
        big = torch.finfo(dist.dtype).max
        table = torch.zeros(n + 1, m + 1, dtype=dist.dtype)
        for i in range(n + 1):
            for j in range(m + 1):
                if i == 0 and j == 0:
                    val = table.new_tensor(0.0)
                elif i == 0 or j == 0:
                    val = table.new_tensor(big)
                else:
                    nb = torch.stack([table[i, j - 1], table[i - 1, j - 1], table[i - 1, j]])
                    val = dist[i - 1, j - 1] - gamma * torch.logsumexp(-nb / gamma, dim=0)
                table = table.clone()
                table[i, j] = val
        out.append(table[n, m])
    return torch.stack(out)


def cuda_rows(gamma: float, repeats: int) -> str:
    """Ours (Triton kernels; and the torch path) vs pysdtw's numba CUDA kernel, or "not measured"."""
    if not torch.cuda.is_available():
        return "  - ours (Triton) vs pysdtw CUDA: not measured (no CUDA device)"
    dev = torch.device("cuda")
    x, y = (t.detach().to(dev).requires_grad_() for t in inputs(B))
    ref = make_pysdtw(gamma, cuda=True)
    runs = {
        "triton": lambda a, b: ours(a, b, gamma, "triton"),
        "torch": lambda a, b: ours(a, b, gamma, "torch"),
        "pysdtw": ref,
    }
    wall: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():  # warm-up (numba/triton compile)
        fwd_bwd(fn, x, y, sync=True)
    for _ in range(repeats):
        for k, fn in runs.items():
            wall[k].append(fwd_bwd(fn, x, y, sync=True)[0])
    med = {k: statistics.median(v) * 1e3 for k, v in wall.items()}
    r = statistics.median(p / t for t, p in zip(wall["triton"], wall["pysdtw"]))
    name = torch.cuda.get_device_name(dev)
    return (
        f"  - {name}: ours Triton {med['triton']:.2f} ms, ours torch path {med['torch']:.2f} ms, "
        f"pysdtw CUDA {med['pysdtw']:.2f} ms; ours (Triton) vs pysdtw CUDA: **{r:.2f}x**"
    )


def fwd_bwd(fn, x: torch.Tensor, y: torch.Tensor, sync: bool = False) -> tuple[float, float]:
    """(wall, process CPU) seconds of one forward + backward (``sync``: wait for the GPU)."""
    x.grad = y.grad = None
    if sync:
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    fn(x, y).sum().backward()
    if sync:
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0


def peak_mb(method: str, gamma: float, batch: int) -> float:
    """Peak RSS growth (MiB) of one fwd+bwd after warm-up, in a fresh child process.

    The child forces glibc to mmap large blocks, so freed memory leaves RSS and the peak reflects
    live memory; VmHWM is reset via /proc/self/clear_refs just before the timed call.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="16384", MALLOC_TRIM_THRESHOLD_="16384")
    cmd = [sys.executable, __file__, "--_child", method, "--gamma", str(gamma), "--batch", str(batch)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["peak_mb"]


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _child(method: str, gamma: float, batch: int) -> None:
    fns = {
        "ours": lambda a, b: ours(a, b, gamma),
        "ours64": lambda a, b: ours(a, b, gamma),
        "ours64_torch": lambda a, b: ours(a, b, gamma, "torch"),
        "pysdtw": make_pysdtw(gamma) if method.startswith("pysdtw") else None,
        "pysdtw64": make_pysdtw(gamma) if method.startswith("pysdtw") else None,
        "loop": lambda a, b: percell_loop(a, b, gamma),
    }
    fn = fns[method]
    x, y = inputs(batch)
    if method.endswith("64") or method == "ours64_torch":
        x, y = (t.detach().double().requires_grad_() for t in (x, y))
    fwd_bwd(fn, x, y)  # warm-up (numba compile for pysdtw)
    x.grad = y.grad = None
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_kb("VmRSS")
    fwd_bwd(fn, x, y)
    print(json.dumps({"peak_mb": (_status_kb("VmHWM") - base) / 1024}))


def machine(load_start: float) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} intra-op threads, {torch.backends.cpu.get_cpu_capability()}), "
        f"Python {platform.python_version()}; 1-min load average {load_start:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at the end (the machine is shared)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats, no memory probe, no file")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--loop-pairs", type=int, default=None, help="pairs for the per-cell loop")
    ap.add_argument("--out", type=Path, default=None, help="markdown output (default bench/soft_dtw.md)")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=B, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return _child(args._child, args.gamma, args.batch)

    load_start = os.getloadavg()[0]
    repeats = args.repeats or (5 if args.quick else 40)
    loop_pairs = args.loop_pairs or 1
    gamma = args.gamma
    x, y = inputs(B)
    x64, y64 = (t.detach().double().requires_grad_() for t in (x, y))
    ref = make_pysdtw(gamma)
    f_ours = lambda a, b: ours(a, b, gamma)  # noqa: E731
    f_torch = lambda a, b: ours(a, b, gamma, "torch")  # noqa: E731
    with torch.no_grad():
        v_ours, v_ref = f_ours(x, y), ref(x, y)
        v64, v64_ref = f_ours(x64, y64), ref(x64, y64)
    rel = ((v_ours - v_ref).abs() / v_ref.abs()).max().item()
    rel64 = ((v64 - v64_ref).abs() / v64_ref.abs()).max().item()
    runs = {
        "ours": (f_ours, x, y),
        "pysdtw": (ref, x, y),
        "ours64": (f_ours, x64, y64),
        "ours64_torch": (f_torch, x64, y64),
        "pysdtw64": (ref, x64, y64),
    }
    backend64 = resolve_backend(v64.new_empty((1, 1, 1)))
    for fn, a, b in runs.values():  # warm-up: numba compile, allocator
        fwd_bwd(fn, a, b)
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved rounds
        for k, (fn, a, b) in runs.items():
            w, c = fwd_bwd(fn, a, b)
            wall[k].append(w)
            cpu[k].append(c)
    med = {k: statistics.median(v) for k, v in wall.items()}
    best = {k: min(v) for k, v in wall.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}

    def per_round(num: str, den: str) -> float:
        return statistics.median(r / o for o, r in zip(wall[den], wall[num]))

    ratio = {k: per_round(k, "ours") for k in runs}
    ratio_a = ratio["pysdtw"]
    ratio_64 = per_round("pysdtw64", "ours64")
    ratio_64_torch = per_round("pysdtw64", "ours64_torch")
    cuda_lines = cuda_rows(gamma, 5 if args.quick else 20)

    xs, ys = inputs(loop_pairs)
    loop_fn = lambda a, b: percell_loop(a, b, gamma)  # noqa: E731
    t_loop = min(fwd_bwd(loop_fn, xs, ys)[0] for _ in range(1 if args.quick else 2))
    loop_scaled = t_loop * B / loop_pairs
    ratio_b = loop_scaled / med["ours"]

    mem = {}
    if not args.quick:
        mem = {k: peak_mb(k, gamma, B) for k in runs} | {"loop": peak_mb("loop", gamma, 1)}
    mem_s = lambda k, note="": f"{mem[k]:.0f}{note}" if k in mem else "n/a"  # noqa: E731

    cmd = (
        "python bench/bench_soft_dtw.py"
        + (" --quick" if args.quick else "")
        + ("" if gamma == 0.1 else f" --gamma {gamma}")
    )

    def row(name: str, k: str) -> str:
        vs = "1.00x" if k == "ours" else f"{ratio[k]:.2f}x"
        return f"| {name} | {med[k] * 1e3:.1f} | {best[k] * 1e3:.1f} | {cpu_med[k] * 1e3:.1f} | {vs} | {mem_s(k)} |"

    table = "\n".join(
        [
            "| method (fwd+bwd, B=64) | wall median (ms) | wall min (ms) | CPU median (ms) | time / ours | peak RSS growth (MiB) |",
            "|---|---:|---:|---:|---:|---:|",
            row("ours: `pairwise_cost` + `soft_dtw`, float32", "ours"),
            row("pysdtw 0.0.5 `SoftDTW(use_cuda=False)`, float32 in (DP in float64)", "pysdtw"),
            row(f"ours, float64 end to end (`{backend64}` backend)", "ours64"),
            row("ours, float64 end to end, torch path (`backend='torch'`)", "ours64_torch"),
            row("pysdtw, float64 in", "pysdtw64"),
            f"| per-cell Python loop (PeskaVLP style), {loop_pairs} pair(s), x{B // loop_pairs} |"
            f" {loop_scaled * 1e3:.0f} (scaled) | | | {ratio_b:.0f}x | {mem_s('loop', ' (1 pair)')} |",
        ]
    )
    report = f"""# soft-DTW benchmark

Command: `{cmd}`

Machine: {machine(load_start)}

Problem: B={B} pairs, lengths {N} x {M}, dim {D}, squared-Euclidean cost from raw sequences,
gamma={gamma}, forward + backward to the sequences, CPU, warm. {repeats} interleaved rounds
(ours, pysdtw, ours-float64, ...); "time / ours" is the median of the per-round ratios, which is
robust to background load. CPU = process CPU time per call (all threads), the least load-sensitive
measure of work. The per-cell loop ran on {loop_pairs} pair(s) (best of {1 if args.quick else 2})
and is scaled by {B // loop_pairs}; its time / ours uses ours' median.

{table}

- (a) float32: ours vs pysdtw: **{ratio_a:.2f}x** faster (goal >= 1.5x); by CPU time
  {cpu_med["pysdtw"] / cpu_med["ours"]:.2f}x. Max relative difference of the float32 values: {rel:.1e}.
- (a') float64 (equal precision): ours (`{backend64}`) vs pysdtw: **{ratio_64:.2f}x** faster; by CPU time
  {cpu_med["pysdtw64"] / cpu_med["ours64"]:.2f}x; the torch path alone: {ratio_64_torch:.2f}x.
  Max relative difference of the float64 values: {rel64:.1e}.
- (b) ours vs per-cell loop: **{ratio_b:.0f}x** faster (goal >= 100x).
- pysdtw runs its DP in float64 numpy whatever the input dtype; ours runs it in the input dtype.
  The float64 row shows the cost of matching that precision.
- CUDA (B={B}, same problem, fp32, fwd+bwd, median of interleaved rounds):
{cuda_lines}
- Peak memory: growth of the process's peak RSS during one warm fwd+bwd, measured in a fresh
  child with large blocks forced to mmap (approximate; includes the cost matrix and its grads).
"""
    print(report)
    out = args.out or (None if args.quick else Path(__file__).with_name("soft_dtw.md"))
    if out is not None:
        out.write_text(report)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
