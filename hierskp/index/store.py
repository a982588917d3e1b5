"""FAISS indices for retrieval: build/tune (`faiss_build`), save, load, and `load_or_build`,
which never serves a stale index.

Files for ``path = "x.faiss"``: ``x.faiss`` (``faiss.write_index``), ``x.faiss.ids.npy``
(``np.save``, no pickle) and ``x.faiss.json`` (written last, so its presence marks a
complete set). The sidecar records the fingerprint of what was indexed (sha256 over the
embeddings, the ids and the caller's ``source`` dict), the build config and tuned params,
and the size and sha256 of the two data files.

A load hashes both files once; ``x.faiss.verified.json`` then records their size, mtime and inode, and
later loads of unchanged files skip the hash (a rewrite, replacement or truncation changes the stat; a
file modified within `_RACY_NS` of its check is hashed every time, as git treats racy index entries).
The index and the ids are memory-mapped on the CPU, so a load reads only what searches touch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write, atomic_write_text
from hierskp.index.build import (  # noqa: F401 - re-exported public API
    AUTO_FLAT_MAX,
    LARGE_CORPUS_KIND,
    EmbeddingIndex,
    IndexKind,
    build_index,
    cpu_index,
    gpu_available,
    l2_normalize,
    normalize_ids,
    search,
    set_ef_search,
    set_nprobe,
    to_device,
)

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
_HASH_CHUNK = 64 << 20
_RACY_NS = 2_000_000_000  # mtime coarser than this near "now" may hide a same-size rewrite


def _update_array(h: hashlib._Hash, a: np.ndarray) -> None:
    h.update(f"{a.dtype.str}{a.shape}".encode())
    buf = memoryview(np.ascontiguousarray(a)).cast("B")
    for start in range(0, len(buf), _HASH_CHUNK):
        h.update(buf[start : start + _HASH_CHUNK])


def fingerprint(embeddings: Any, ids: Any, source: Mapping[str, Any] | None = None) -> str:
    """sha256 over float32 embedding bytes, the ids and ``source`` (JSON, sorted keys)."""
    emb = np.asarray(embeddings.detach().cpu().float().numpy() if hasattr(embeddings, "detach") else embeddings)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    ids_arr = normalize_ids(np.arange(len(emb)) if ids is None else ids, len(emb))
    h = hashlib.sha256(f"hierskp-index-v{FORMAT_VERSION}".encode())
    _update_array(h, emb)
    if ids_arr.dtype.kind == "U":  # width-independent: "a" as <U1 or <U9 hashes the same
        h.update(b"str-ids")
        h.update("\0".join(ids_arr.tolist()).encode("utf-8"))
    else:
        _update_array(h, ids_arr)
    h.update(json.dumps(dict(source or {}), sort_keys=True, default=str).encode())
    return h.hexdigest()


def _file_digest(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    p = Path(path)
    return p, p.with_name(p.name + ".ids.npy"), p.with_name(p.name + ".json")


def _config(kind: str, build_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The build options that change what a rebuild would produce (GPU placement does not)."""
    cfg = {k: v for k, v in build_kwargs.items() if k not in ("use_gpu", "tune_queries")}
    cfg["kind"] = kind
    if build_kwargs.get("tune_queries") is not None:
        cfg["tune_queries_sha256"] = fingerprint(build_kwargs["tune_queries"], None)
    return json.loads(json.dumps(cfg, sort_keys=True, default=str))


def save_index(
    ei: EmbeddingIndex,
    path: str | os.PathLike[str],
    source: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> None:
    """Write index, ids and sidecar (sidecar removed first and written last)."""
    index_path, ids_path, meta_path = _paths(path)
    index_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)
    atomic_write(index_path, lambda tmp: faiss.write_index(cpu_index(ei), str(tmp)))
    atomic_write(ids_path, lambda tmp: _save_ids(tmp, ei.ids))
    meta = {
        "format_version": FORMAT_VERSION,
        "faiss_version": faiss.__version__,
        "kind": ei.kind,
        "fingerprint": ei.fingerprint,
        "source": dict(source or {}),
        "config": dict(config or {}),
        "params": ei.params,
        "ntotal": int(ei.index.ntotal),
        "dim": int(ei.index.d),
        "files": {"index": _file_digest(index_path), "ids": _file_digest(ids_path)},
    }
    atomic_write_text(meta_path, strict_json.dumps(meta, indent=1, sort_keys=True, default=str))
    # the writer hashed these very bytes: record their stat now, so no later load (a search) writes in the folder
    verified = {
        name: {**_stat_key(p), "sha256": meta["files"][name]["sha256"]}
        for name, p in (("index", index_path), ("ids", ids_path))
    }
    atomic_write_text(_verified_path(index_path), json.dumps(verified, sort_keys=True))


def _save_ids(path: Path, ids: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would add ".npy" to a name
        np.save(fh, ids, allow_pickle=False)


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    meta_path = _paths(path)[2]
    try:
        return json.loads(meta_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _stat_key(p: Path) -> dict[str, int]:
    st = p.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


def _verified_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".verified.json")


def _verify_files(path: str | os.PathLike[str], files: Mapping[str, Any]) -> None:
    """Each data file's size and sha256 are the sidecar's: hashed, unless the stat recorded after an earlier
    hash of these very bytes still holds. Raises ValueError naming the file that differs."""
    index_path, ids_path, _ = _paths(path)
    rec_path = _verified_path(index_path)
    try:
        rec = json.loads(rec_path.read_text())
    except (OSError, ValueError):
        rec = {}
    new: dict[str, Any] = {}
    for name, p in (("index", index_path), ("ids", ids_path)):
        key = {**_stat_key(p), "sha256": files[name]["sha256"]}
        if rec.get(name) == key:
            new[name] = key
            continue
        if _file_digest(p) != files[name]:
            raise ValueError(f"{p}: size/sha256 differ from the sidecar (partial or foreign write)")
        if time.time_ns() - key["mtime_ns"] > _RACY_NS and _stat_key(p) == {
            k: key[k] for k in ("size", "mtime_ns", "ino")
        }:
            new[name] = key
    if new != rec and any(name not in rec or rec[name] != new.get(name) for name in new):
        try:
            atomic_write_text(rec_path, json.dumps(new, sort_keys=True))
        except OSError:
            pass  # a read-only folder: hashed again next time


def load_index(path: str | os.PathLike[str], use_gpu: bool | None = None, verify_files: bool = True) -> EmbeddingIndex:
    """Load a saved index as-is (no staleness check; use `load_or_build` for that)."""
    index_path, ids_path, _ = _paths(path)
    meta = read_sidecar(path)
    if meta is None:
        raise FileNotFoundError(f"{path}: no readable sidecar {_paths(path)[2].name}")
    if verify_files:
        _verify_files(path, meta["files"])
    index = faiss.read_index(str(index_path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    ids = np.load(ids_path, allow_pickle=False, mmap_mode="r")
    params = meta["params"]
    if "nprobe" in params:
        set_nprobe(index, params["nprobe"])
    if "ef_search" in params:
        set_ef_search(index, params["ef_search"])
    ei = EmbeddingIndex(index, ids, meta["kind"], params, meta["fingerprint"])
    return to_device(ei, use_gpu)


@dataclass
class LoadResult:
    index: EmbeddingIndex
    rebuilt: bool
    reason: str  # why it was rebuilt, or "up to date"


def _stale_reason(path: str | os.PathLike[str], fp: str, cfg: Mapping[str, Any]) -> str | None:
    meta = read_sidecar(path)
    if meta is None:
        return "no index saved" if not _paths(path)[0].exists() else "sidecar missing or unreadable"
    if meta.get("format_version") != FORMAT_VERSION:
        return f"format version {meta.get('format_version')} != {FORMAT_VERSION}"
    if meta.get("fingerprint") != fp:
        return "fingerprint differs (embeddings, ids or source changed)"
    if meta.get("config") != cfg:
        changed = sorted(
            k for k in set(cfg) | set(meta.get("config", {})) if cfg.get(k) != meta.get("config", {}).get(k)
        )
        return f"build config differs: {changed}"
    return None


def load_or_build(
    path: str | os.PathLike[str],
    embeddings: Any,
    ids: Any,
    source: Mapping[str, Any] | None = None,
    kind: IndexKind = "flat",
    **build_kwargs: Any,
) -> LoadResult:
    """Load the index at ``path`` if it indexes exactly these embeddings/ids/source with the
    same build config; otherwise (or if its files fail verification) rebuild and save it."""
    fp = fingerprint(embeddings, ids, source)
    cfg = _config(kind, build_kwargs)
    reason = _stale_reason(path, fp, cfg)
    if reason is None:
        try:
            ei = load_index(path, use_gpu=build_kwargs.get("use_gpu"))
            if ei.index.ntotal == len(ei.ids) == len(embeddings):
                return LoadResult(ei, False, "up to date")
            reason = "stored index size does not match"
        except (ValueError, RuntimeError, OSError, KeyError) as exc:
            reason = f"stored files unusable: {exc}"
    log.info("rebuilding index %s: %s", path, reason)
    ei = build_index(embeddings, ids, kind, **build_kwargs)
    ei.fingerprint = fp
    save_index(ei, path, source, cfg)
    return LoadResult(ei, True, reason)


def source_fingerprint(source: Mapping[str, Any]) -> str:
    """sha256 of a ``source`` dict alone, for indices whose source names everything they index."""
    h = hashlib.sha256(f"hierskp-index-source-v{FORMAT_VERSION}".encode())
    h.update(json.dumps(dict(source), sort_keys=True, default=str).encode())
    return h.hexdigest()


def load_or_build_from(
    path: str | os.PathLike[str],
    source: Mapping[str, Any],
    make: Callable[[], tuple[Any, Any]],
    kind: IndexKind = "flat",
    **build_kwargs: Any,
) -> LoadResult:
    """`load_or_build` for embeddings that are costly to compute: the fingerprint covers ``source``
    only (it must name the model, the data's content and every option), so an up-to-date index
    loads without calling ``make() -> (embeddings, ids)``, which runs only to (re)build it."""
    fp = source_fingerprint(source)
    cfg = _config(kind, build_kwargs)
    reason = _stale_reason(path, fp, cfg)
    if reason is None:
        try:
            ei = load_index(path, use_gpu=build_kwargs.get("use_gpu"))
            if ei.index.ntotal == len(ei.ids):
                return LoadResult(ei, False, "up to date")
            reason = "stored index size does not match"
        except (ValueError, RuntimeError, OSError, KeyError) as exc:
            reason = f"stored files unusable: {exc}"
    log.info("rebuilding index %s: %s", path, reason)
    embeddings, ids = make()
    ei = build_index(embeddings, ids, kind, **build_kwargs)
    ei.fingerprint = fp
    save_index(ei, path, source, cfg)
    return LoadResult(ei, True, reason)
