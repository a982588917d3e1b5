"""Backbone fingerprints: what decides the cached features, as a JSON-able dict with a short id.

``fingerprint_id`` = first 16 hex of sha256 over the canonical JSON of every field except the
informational ones (``INFORMATIONAL``: where the model came from, which revision, library
versions). Equal weights + config + preprocessing + dtype + pooling therefore give an equal
id whatever path or hub id they were loaded from; changing any of them changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hierskp.files import checksums
from hierskp.files.atomic import atomic_write_text

INFORMATIONAL = ("model", "resolved_path", "revision", "versions")
_VOLATILE_CONFIG_KEYS = {"transformers_version", "_name_or_path", "_commit_hash", "torch_dtype", "dtype"}
_TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
_CHUNK = 8 << 20

_file_cache: dict[tuple[str, int, int], str] = {}
_cache_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """Streamed sha256 of a file, memoised per (real path, size, mtime) for this process."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    with _cache_lock:
        if key in _file_cache:
            return _file_cache[key]
    digest = checksums.file_sha256(real)
    with _cache_lock:
        _file_cache[key] = digest
    return digest


def weight_files(model_dir: Path) -> list[Path]:
    """The weight files transformers loads from a snapshot: safetensors first, then .bin, shards via their index.

    Stray files (e.g. ``open_clip_model.safetensors`` in some CLIP repos) are ignored so the hash
    does not depend on what else happens to be cached.
    """
    for stem in ("model.safetensors", "pytorch_model.bin"):
        index = model_dir / f"{stem}.index.json"
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return [model_dir / s for s in shards]
        if (model_dir / stem).is_file():
            return [model_dir / stem]
    found = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    if not found:
        raise FileNotFoundError(f"no weight files (*.safetensors, *.bin) in {model_dir}")
    return found


def files_sha256(files: list[Path], root: Path) -> str:
    """One digest over several files: sha256 of 'relative name:file sha256' lines."""
    lines = [f"{f.relative_to(root).as_posix()}:{file_sha256(f)}\n" for f in files]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def weights_sha256(model_dir: Path) -> str:
    return files_sha256(weight_files(model_dir), model_dir)


def tokenizer_sha256(model_dir: Path) -> str | None:
    files = [model_dir / n for n in _TOKENIZER_FILES if (model_dir / n).is_file()]
    return files_sha256(files, model_dir) if files else None


def config_sha256(model_dir: Path) -> str | None:
    """Hash of config.json without the keys that change with the writer (library version, source path)."""
    path = model_dir / "config.json"
    if not path.is_file():
        return None
    return hashlib.sha256(canonical_json(_strip(json.loads(path.read_text()))).encode()).hexdigest()


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE_CONFIG_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def fingerprint_id(fingerprint: Mapping[str, Any]) -> str:
    """First 16 hex of sha256 of the canonical JSON of the identity fields."""
    identity = {k: v for k, v in fingerprint.items() if k not in INFORMATIONAL and k != "fingerprint_id"}
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def make_fingerprint(
    *,
    model: str,
    model_dir: Path,
    revision: str | None,
    architecture: str,
    model_type: str,
    preprocessing: Mapping[str, Any],
    dtype: str,
    pooling: str,
    dim: int,
    kind: str,
) -> dict[str, Any]:
    """Assemble the fingerprint dict (JSON round-trips to itself) and stamp its id."""
    import torch
    import transformers

    fp: dict[str, Any] = {
        "kind": kind,
        "model": model,
        "resolved_path": str(model_dir),
        "revision": revision,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "architecture": architecture,
        "model_type": model_type,
        "weights_sha256": weights_sha256(model_dir),
        "config_sha256": config_sha256(model_dir),
        "preprocessing": json.loads(canonical_json(dict(preprocessing))),
        "dtype": dtype,
        "pooling": pooling,
        "dim": int(dim),
    }
    fp["fingerprint_id"] = fingerprint_id(fp)
    return fp


# --- fingerprints without loading a model -------------------------------------------------------
# A fingerprint is remembered per load request (kind, model, device...) together with the size and
# mtime of every file in the model's folder; while they all hold, a rerun reuses it instead of loading
# the model (which costs seconds: transformers import, weights, a probe forward pass).
MEMO_FILE = "fingerprints.json"


def _memo_path() -> Path:
    from hierskp.backbones.embedded import hierskp_home

    return hierskp_home() / MEMO_FILE


def folder_stats(model_dir: Path) -> dict[str, list[int]]:
    """{file name: [size, mtime_ns]} of every file in the folder (symlinks followed, as HF snapshots use)."""
    out = {}
    for path in sorted(Path(model_dir).iterdir()):
        if path.is_file():
            st = path.stat()
            out[path.name] = [st.st_size, st.st_mtime_ns]
    return out


def _memo_key(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(request)).encode()).hexdigest()[:24]


def _read_memo() -> dict[str, Any]:
    try:
        data = json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_fingerprint(request: Mapping[str, Any], model_dir: Path) -> dict[str, Any] | None:
    """The fingerprint stored for this request, if every file of `model_dir` is unchanged since."""
    entry = _read_memo().get(_memo_key(request))
    if not isinstance(entry, dict) or entry.get("model_dir") != str(model_dir):
        return None
    try:
        if entry.get("files") != folder_stats(model_dir):
            return None
    except OSError:
        return None
    fp = entry.get("fingerprint")
    return fp if isinstance(fp, dict) and fp.get("fingerprint_id") == fingerprint_id(fp) else None


def remember_fingerprint(request: Mapping[str, Any], model_dir: Path, fingerprint: Mapping[str, Any]) -> None:
    """Store (atomically; best effort: a read-only home only costs a model load next time)."""
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        memo = _read_memo()
        memo[_memo_key(request)] = {
            "request": dict(request),
            "model_dir": str(model_dir),
            "files": folder_stats(model_dir),
            "fingerprint": dict(fingerprint),
        }
        atomic_write_text(path, json.dumps(memo, indent=1, sort_keys=True))
    except OSError:
        pass
