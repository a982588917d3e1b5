"""One writer per run folder, and a failed start that leaves nothing behind.

The lock is an exclusive `flock` on ``RUN/.lock``: the kernel releases it when the process dies
(also on SIGKILL), so a stale lock never blocks a rerun. A start that fails before its first
checkpoint removes the files it created (``config.json``, ``metrics.jsonl``), so the corrected
command can run in the same folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK = ".lock"
STARTED_FILES = ("config.json", "metrics.jsonl")


class RunFolderBusy(FileExistsError):
    """Another process is training into this run folder."""


@contextlib.contextmanager
def run_lock(run_dir: Path, fresh: bool) -> Iterator[None]:
    """Hold the folder's lock; on an exception, a `fresh` start with no checkpoint undoes its files."""
    run_dir.mkdir(parents=True, exist_ok=True)
    before = {n for n in STARTED_FILES if (run_dir / n).exists()}
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise RunFolderBusy(f"{run_dir}: another training process (pid {owner}) writes this run folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        except BaseException:
            ckpts = run_dir / "checkpoints"
            if fresh and not (ckpts.is_dir() and any(ckpts.iterdir())):
                for name in set(STARTED_FILES) - before:
                    (run_dir / name).unlink(missing_ok=True)
            raise
    finally:
        os.close(fd)
