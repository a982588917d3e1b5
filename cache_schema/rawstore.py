"""Key-level access to the store under a cache root: listing, exclusive create, recursive delete.

Zarr's group API cannot list or delete a group whose metadata is damaged, and has no
create-if-absent; these helpers go to the underlying store (local, fsspec/S3) directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import LocalStore


def _key(root: zarr.Group, key: str) -> str:
    base = root.store_path.path
    return f"{base}/{key}" if base else key


def _walk(folder: Path) -> list[str]:
    """Files below a local folder as store keys relative to it (os.walk: ~6x faster than the store's
    asynchronous listing on 25,000 keys)."""
    out = []
    for dirpath, _, files in os.walk(folder):
        rel = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        out += [name if rel == "." else f"{rel}/{name}" for name in files]
    return out


def list_prefix(root: zarr.Group, prefix: str) -> list[str]:
    """Keys below `prefix` (relative to the root), without the prefix."""
    full = _key(root, prefix)
    if isinstance(root.store, LocalStore) and full.endswith("/"):
        return _walk(Path(root.store.root) / full)

    async def run() -> list[str]:
        return [k async for k in root.store.list_prefix(full)]

    return [k[len(full) :] for k in sync(run())]


def is_local(root: zarr.Group) -> bool:
    return isinstance(root.store, LocalStore)


def all_present(root: zarr.Group, prefix: str, keys: list[str]) -> bool:
    """Whether every key below `prefix` of a LOCAL store exists: one stat each (~7 us a key here, where
    walking the folders that hold them costs ~60 us a key). Elsewhere a listing is the cheap way (one
    request per thousand keys, where a stat is one request per key): check `is_local` first."""
    base = f"{root.store.root}/{_key(root, prefix)}"
    try:
        for key in keys:
            os.stat(base + key)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def list_dir(root: zarr.Group, prefix: str) -> list[str]:
    full = _key(root, prefix.rstrip("/")) + "/"

    async def run() -> list[str]:
        return [k.rstrip("/") async for k in root.store.list_dir(full)]

    return sorted(set(sync(run())))


def get_bytes(root: zarr.Group, key: str) -> bytes | None:
    """The bytes stored under `key`, None where absent. A local store's file is read directly: zarr's sync
    API hands each call to its event-loop thread, which costs ~25 ms a call on a loaded box (a search
    reads one group's metadata per hit)."""
    if isinstance(root.store, LocalStore):
        try:
            return (Path(root.store.root) / _key(root, key)).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
    buf = sync(root.store.get(_key(root, key), default_buffer_prototype()))
    return None if buf is None else buf.to_bytes()


def put_bytes(root: zarr.Group, key: str, data: bytes) -> None:
    sync(root.store.set(_key(root, key), default_buffer_prototype().buffer.from_bytes(data)))


def put_if_absent(root: zarr.Group, key: str, data: bytes) -> None:
    """Create `key` unless it exists (exclusive create on local stores); read it back to see who won."""
    sync(root.store.set_if_not_exists(_key(root, key), default_buffer_prototype().buffer.from_bytes(data)))


def delete_key(root: zarr.Group, key: str) -> None:
    sync(root.store.delete(_key(root, key)))


def delete_prefix(root: zarr.Group, prefix: str) -> None:
    """Delete every key below `prefix`, whatever state its metadata is in."""
    sync(root.store.delete_dir(_key(root, prefix.rstrip("/"))))


def exists(root: zarr.Group, key: str) -> bool:
    return bool(sync(root.store.exists(_key(root, key))))
