"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

`step_XXXXXXXX.safetensors` holds the model (`model/<name>`) and the optimizer state tensors
(`optim/<param index>/<key>`); `step_XXXXXXXX.json` holds the step, the optimizer's non-tensor
state and param groups, the LR scheduler, the AMP grad scaler and every RNG state (torch's byte
states in base64, numpy's and python's as lists). Both files are written to a temp name and
renamed; the JSON is renamed last, so a checkpoint without its JSON is never picked up.
"""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from hierskp.files.atomic import atomic_write

from .guards import SHA_KEY, file_sha256

_NAME = re.compile(r"^step_(\d{8})\.json$")


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode()


def _unb64(s: str) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype=np.uint8).copy())


def rng_state() -> dict[str, Any]:
    mt, pos, has_gauss, gauss = np.random.get_state()[1:]
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": _b64(torch.get_rng_state()),
        "numpy": {"keys": [int(k) for k in mt], "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(_unb64(state["torch"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", np.array(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])


def flatten_optimizer(opt_state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split `optimizer.state_dict()` into named tensors and a JSON-able remainder."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt_state["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{pid}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"scalars": scalars, "param_groups": opt_state["param_groups"]}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, pid, key = name.split("/", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, st in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(st)
    groups = [{**g, **({"betas": tuple(g["betas"])} if "betas" in g else {})} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(
    folder: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any = None,
    extra: dict[str, Any] | None = None,
    keep: int = 3,
) -> Path:
    """Write step_XXXXXXXX.{safetensors,json} atomically, then delete all but the last `keep`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()} | opt_tensors
    sched = scheduler.state_dict() if scheduler is not None else None
    meta = {
        "step": step,
        "optimizer": opt_meta,
        "scheduler": sched,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": rng_state(),
        **(extra or {}),
    }
    text = json.dumps(meta)  # fails loudly here (before any file is touched) on a non-JSON value
    base = folder / f"step_{step:08d}"
    atomic_write(base.with_suffix(".safetensors"), lambda p: save_file(tensors, str(p)))
    text = json.dumps({**meta, SHA_KEY: file_sha256(base.with_suffix(".safetensors"))})  # checked on resume
    atomic_write(base.with_suffix(".json"), lambda p: p.write_text(text))
    for old in list_checkpoints(folder)[:-keep]:
        old.with_suffix(".safetensors").unlink(missing_ok=True)
        old.unlink(missing_ok=True)
    return base.with_suffix(".json")


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Complete checkpoints (JSON present, weights present), oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _NAME.match(p.name) and p.with_suffix(".safetensors").is_file()]
    return sorted(found)


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore everything saved by `save_checkpoint`; returns the JSON metadata."""
    path = Path(path)
    meta = json.loads(path.read_text())
    tensors = load_file(str(path.with_suffix(".safetensors")))
    model.load_state_dict({k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")})
    if optimizer is not None:
        optimizer.load_state_dict(unflatten_optimizer(tensors, meta["optimizer"]))
    if scheduler is not None and meta.get("scheduler") is not None:
        scheduler.load_state_dict(meta["scheduler"])
    if scaler is not None and meta.get("scaler") is not None:
        scaler.load_state_dict(meta["scaler"])
    if restore_rng:
        set_rng_state(meta["rng"])
    return meta
