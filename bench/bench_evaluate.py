"""`hierskp evaluate` with several runs: this checkout against another checkout, in one run.

    git worktree add /tmp/eval_before <commit>
    python bench/bench_evaluate.py --cache C --run R1 --run R2 --baseline-root /tmp/eval_before [--repeats 3]

Each repeat runs the command once per checkout (alternating, fresh processes, PYTHONPATH set to
the checkout), so both see the same machine load; prints wall and CPU (user + sys) times and the
median ratios baseline / this, and checks that both reports hold the same summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def evaluate_once(root: Path, cache: str, runs: list[str], out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + sys, robust to a shared machine's load)."""
    cmd = [sys.executable, "-m", "hierskp", "evaluate", "--cache", cache, "--out", str(out), "--no-progress"]
    for r in runs:
        cmd += ["--run", r]
    env = {**os.environ, "PYTHONPATH": str(root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--run", action="append", dest="runs", required=True)
    ap.add_argument("--baseline-root", required=True, help="checkout of the code to compare against")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    roots = {"baseline": Path(args.baseline_root).resolve(), "this": HERE}
    times: dict[str, list[float]] = {k: [] for k in roots}
    cpu: dict[str, list[float]] = {k: [] for k in roots}
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for name, root in roots.items():
                out = Path(tmp) / f"{name}{i}"
                wall, used = evaluate_once(root, args.cache, args.runs, out)
                times[name].append(wall)
                cpu[name].append(used)
                tables[name] = json.loads((out / "report.json").read_text())["table"]
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    same = {m: t["summary"] for m, t in tables["baseline"].items()} == {
        m: t["summary"] for m, t in tables["this"].items()
    }
    result = {"runs": len(args.runs), "wall_s": times, "cpu_s": cpu, "median_wall_s": med, "median_cpu_s": med_cpu}
    print(json.dumps(result, indent=1))
    print(f"speed-up (baseline / this, median of {args.repeats}): wall {med['baseline'] / med['this']:.2f}x, ", end="")
    print(f"CPU time {med_cpu['baseline'] / med_cpu['this']:.2f}x")
    print(f"same summary table: {same}")


if __name__ == "__main__":
    main()
