"""The run folder's visible progress: metrics.jsonl (one line per step) and loss_curve.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hierskp.files import strict_json


class MetricsLog:
    """Appends one JSON line per step. On resume, lines past the checkpoint's step are dropped first
    (a killed run may have logged steps that the resumed run will redo)."""

    def __init__(self, path: str | Path, resume_step: int | None = None):
        self.path = Path(path)
        if resume_step is not None and self.path.is_file():
            kept = [ln for ln in self.path.read_text().splitlines() if ln.strip() and _step(ln) <= resume_step]
            self.path.write_text("".join(ln + "\n" for ln in kept))
        elif resume_step is None:
            self.path.write_text("")
        self._fh = self.path.open("a")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(strict_json.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 1 << 62


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln.strip()]


def plot_loss_curve(metrics_path: str | Path, out_png: str | Path, smooth: int = 5) -> Path:
    """Total and per-level losses against the step (moving average over `smooth` steps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = read_metrics(metrics_path)
    keys = sorted({k for r in rows for k in r if k.startswith("loss/")})
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for key in keys:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if not pts:
            continue
        steps, vals = map(np.asarray, zip(*pts))
        k = max(1, min(smooth, len(vals)))
        avg = np.convolve(vals, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], avg, label=key[5:], lw=2.2 if key == "loss/total" else 1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("HierSKP training losses")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)
    return Path(out_png)
