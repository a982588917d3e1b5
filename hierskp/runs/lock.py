"""One writer per run folder, and a failed start that leaves nothing behind.

The lock is an exclusive `flock` on ``RUN/.lock``: the kernel releases it when the process dies
(also on SIGKILL), so a stale lock never blocks a rerun: a lock file left by a dead process is
simply taken over. The file records who holds it (host, pid, start time) for the message a second
writer gets, and is removed when the holder exits (normally, on an exception or on Ctrl-C). A start
that fails before its first checkpoint removes the files it created (``config.json``,
``metrics.jsonl``), so the corrected command can run in the same folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

LOCK = ".lock"
STARTED_FILES = ("config.json", "metrics.jsonl")


class RunFolderBusy(FileExistsError):
    """Another process is training into this run folder."""


def _owner(fd: int) -> str:
    raw = os.pread(fd, 512, 0).decode(errors="replace").strip()
    try:
        rec = json.loads(raw)
        return f"pid {rec['pid']} on {rec['host']}, started {rec['started_at']}"
    except (ValueError, KeyError, TypeError):
        return f"pid {raw or '?'}"


def _acquire(path: Path, run_dir: Path) -> int:
    """The locked descriptor of `path`; retried when the holder removed the file as we locked it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
            os.close(fd)
            raise RunFolderBusy(f"{run_dir}: another training process ({owner}) writes this run folder") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def run_lock(run_dir: Path, fresh: bool) -> Iterator[None]:
    """Hold the folder's lock; on an exception, a `fresh` start with no checkpoint undoes its files."""
    run_dir.mkdir(parents=True, exist_ok=True)
    before = {n for n in STARTED_FILES if (run_dir / n).exists()}
    path = run_dir / LOCK
    fd = _acquire(path, run_dir)
    try:
        rec = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": dt.datetime.now(dt.UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(rec) + "\n").encode(), 0)
        try:
            yield
        except BaseException:
            ckpts = run_dir / "checkpoints"
            if fresh and not (ckpts.is_dir() and any(ckpts.iterdir())):
                for name in set(STARTED_FILES) - before:
                    (run_dir / name).unlink(missing_ok=True)
            raise
    finally:
        path.unlink(missing_ok=True)  # still holding the flock: a waiter retries on the new file
        os.close(fd)
