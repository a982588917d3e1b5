"""Shared Hugging Face plumbing: offline mode, device/dtype choice, tower loading, snapshot lookup.

transformers is imported lazily inside functions so that importing ``hierskp.backbones``
stays cheap (importing transformers costs ~5 s per process).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from hierskp.backbones.registry import ArchSpec
from hierskp.settings import hub_offline

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """Compute dtype for autocast. 'auto': bf16 on CUDA when supported, else fp16; fp32 elsewhere.

    Weights stay float32; reduced precision only enters through autocast, so a frozen model
    gives float32 outputs whatever the compute dtype.
    """
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of auto, {', '.join(sorted(_DTYPES))}")
    return _DTYPES[dtype]


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast context for reduced precision, a no-op for float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence load reports (a vision tower out of a full CLIP checkpoint lists every text
    weight as UNEXPECTED) and progress bars while loading; restore the user's settings after."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def hub_kwargs(cache_dir: Path | None, revision: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"local_files_only": hub_offline()}
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    if revision is not None:
        kwargs["revision"] = revision
    return kwargs


class BackboneUnavailable(ValueError):
    """A model that cannot be loaded: a hub id absent from the local cache offline, or not found at all."""


def load_config(model: str, hub: dict[str, Any]) -> Any:
    """The model's config; a model that cannot be found raises BackboneUnavailable with how to fetch it."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model, **hub)
    except OSError as exc:
        raise BackboneUnavailable(unavailable_message(model, hub, exc)) from None


def unavailable_message(model: str, hub: dict[str, Any], exc: BaseException) -> str:
    """One line: what is missing, where it was looked for, and the command that fetches it."""
    if Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        return f"model {model!r}: not a loadable model folder ({str(exc).splitlines()[0]})"
    from huggingface_hub.constants import HF_HUB_CACHE

    rev = hub.get("revision")
    fetch = f"hf download {model}" + (f" --revision {rev}" if rev else "")
    where = hub.get("cache_dir") or HF_HUB_CACHE
    at = f"{model!r}" + (f" at revision {rev!r}" if rev else "")
    if hub.get("local_files_only"):
        return (
            f"model {at} is not in the local Hugging Face cache ({where}) and HF_HUB_OFFLINE=1 forbids "
            f"downloading it; fetch it once with `{fetch}` (or `huggingface-cli download {model}`), or pass a local folder"
        )
    return f"model {at} could not be loaded from the Hugging Face hub or {where}: {str(exc).splitlines()[0]}"


def load_tower(model: str, config: Any, spec: ArchSpec, hub: dict[str, Any]) -> torch.nn.Module:
    """Load only the tower ``spec`` names (e.g. the vision tower of a full CLIP checkpoint).

    Refuses checkpoints that leave weights missing: transformers would initialise them at
    random and the cached features would silently be noise.
    """
    import transformers

    tower_config = config
    if spec.sub_config is not None:
        tower_config = getattr(config, spec.sub_config)
        if spec.projection_from_parent and hasattr(config, "projection_dim"):
            # The sub-config does not inherit the checkpoint's projection_dim (CLIP stores it at top level).
            tower_config.projection_dim = config.projection_dim
    cls = getattr(transformers, spec.model_class) if spec.model_class else transformers.AutoModel
    with quiet_transformers():
        model_obj, info = cls.from_pretrained(
            model, config=tower_config, dtype=torch.float32, output_loading_info=True, **spec.load_kwargs, **hub
        )
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise ValueError(
            f"{model!r}: checkpoint lacks weights for {cls.__name__} "
            f"({len(missing)} missing, e.g. {missing[:3]}); they would be random"
        )
    return model_obj


def snapshot_dir(model: str, hub: dict[str, Any]) -> tuple[Path, str | None]:
    """Local directory that holds the model's files and its commit hash when it is a hub snapshot."""
    local = Path(model).expanduser()
    if local.is_dir():
        path = local.resolve()
    else:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(model, "config.json", **hub)).parent
    revision = path.name if path.parent.name == "snapshots" else None
    return path, revision
