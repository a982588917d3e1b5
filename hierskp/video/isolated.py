"""Decode each video in a child process with a stall watchdog, so no decoder can hang a batch.

A hung native call (decord spinning at full CPU, a call that holds the GIL or never returns)
cannot be interrupted from a Python thread, but a child process can be killed. The child
(``python -m hierskp.video._decode_child``, ~0.35 s to start) runs ``iter_frame_batches`` and streams
each batch over its stdout (a length-prefixed JSON header, then the raw frame bytes; no pickle). The parent waits at most ``stall_timeout_s`` for each next batch
(``open_timeout_s`` for opening, which scans the whole container index). On a stall the child is
killed, the video is retried with the other decoder (PyAV after decord; resuming after the last
frame already delivered) and, if that stalls too, it fails with ``VideoStallError``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import VideoDecodeError
from .records import FrameBatch, VideoInfo

__all__ = ["DEFAULT_STALL_TIMEOUT_S", "IsolatedFrameReader", "VideoStallError"]

# No decoded batch for this long means a stall. Measured (bench/README.md, "Decode stall watchdog"):
# the slowest batch of 32 frames sampled at 1 fps from a 1280x720 25 fps H.264 file (GOP 10 s) took
# 4.0 s with PyAV and 4.3 s with decord on the shared 2-core box; 60 s leaves a ~14x margin.
DEFAULT_STALL_TIMEOUT_S = 60.0
# Set to "module:function" (same signature as iter_frame_batches) to decode with a test double.
FACTORY_ENV = "HIERSKP_DECODE_FACTORY"


class VideoStallError(VideoDecodeError):
    """Every decoder tried stopped producing frames for longer than the stall timeout."""


def _factory() -> Any:
    spec = os.environ.get(FACTORY_ENV)
    if not spec:
        from .reader import iter_frame_batches

        return iter_frame_batches
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _write(out: Any, msg: dict[str, Any], payload: bytes = b"") -> None:
    head = json.dumps({**msg, "payload": len(payload)}).encode()
    out.write(struct.pack("<I", len(head)) + head + payload)
    out.flush()


def child_main(args: dict[str, Any]) -> None:
    """Runs in the child (``python -m hierskp.video._decode_child``): open, stream batches after
    ``after_t``, then report the end or the error. Protocol on the original stdout."""
    with os.fdopen(os.dup(1), "wb") as out:  # closed at the end: no ResourceWarning in the child
        os.dup2(2, 1)  # anything a decoder prints goes to stderr, never into the protocol
        _stream(out, args)


def _stream(out: Any, args: dict[str, Any]) -> None:
    try:
        kw = {k: args[k] for k in ("fps", "batch_size", "short_side", "backend")}
        reader = _factory()(args["path"], **kw)
        state = lambda: {"backend": reader.backend, "fallback_reason": reader.fallback_reason}  # noqa: E731
        _write(
            out, {"type": "open", "info": dataclasses.asdict(reader.info), "duration_s": reader.duration_s, **state()}
        )
        for batch in reader:
            keep = batch.timestamps > args["after_t"]
            if keep.any():
                frames = np.ascontiguousarray(batch.frames[keep], dtype=np.uint8)
                meta = {"shape": list(frames.shape), "timestamps": batch.timestamps[keep].tolist(), **state()}
                _write(out, {"type": "batch", **meta}, frames.tobytes())
        _write(out, {"type": "end", "decode_errors": reader.decode_errors, **state()})
    except VideoDecodeError as exc:
        _write(out, {"type": "error", "decode": True, "reason": exc.reason})
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which names the video
        _write(out, {"type": "error", "decode": False, "reason": f"{type(exc).__name__}: {exc}"})


class _Stall(Exception):
    pass


class _Child:
    """One decoder process and the framed pipe it writes; every read waits at most `timeout`."""

    def __init__(self, args: dict[str, Any]) -> None:
        cmd = [sys.executable, "-m", "hierskp.video._decode_child", json.dumps(args)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()  # type: ignore[union-attr]

    def _read(self, n: int, deadline: float) -> bytearray:
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise _Stall("timeout")
            chunk = os.read(self.fd, min(n - len(buf), 1 << 22))
            if not chunk:
                raise _Stall(f"exit code {self.proc.wait()}")
            buf += chunk
        return buf

    def recv(self, timeout: float) -> tuple[dict[str, Any], bytearray]:
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack("<I", self._read(4, deadline))
        msg = json.loads(self._read(size, deadline))
        return msg, self._read(int(msg["payload"]), deadline + timeout) if msg["payload"] else bytearray()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()  # type: ignore[union-attr]


class IsolatedFrameReader(Iterator[FrameBatch]):
    """``FrameBatchIterator``'s surface (info, duration_s, backend, fallback_reason, decode_errors,
    iteration, close) over a watched child process."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 1.0,
        batch_size: int = 32,
        short_side: int | None = None,
        backend: str = "auto",
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        open_timeout_s: float | None = None,
    ) -> None:
        self.path, self.fps, self.batch_size, self.short_side = os.fspath(path), fps, batch_size, short_side
        self.requested_backend = backend
        self.stall_timeout_s = float(stall_timeout_s)
        self.open_timeout_s = float(open_timeout_s if open_timeout_s is not None else 4 * stall_timeout_s)
        self.fallback_reason: str | None = None
        self.decode_errors = 0
        self._last_t = -math.inf
        self._child: _Child | None = None
        self._done = False
        self._pending: tuple[dict[str, Any], bytearray] | None = None
        self._start(backend)
        if not hasattr(self, "info"):  # the file could not be opened: fail now, as FrameBatchIterator does
            msg = self._pending[0] if self._pending else {"decode": False, "reason": "no reply from the decoder"}
            self.close()
            raise VideoDecodeError(self.path, msg["reason"]) if msg["decode"] else RuntimeError(msg["reason"])

    # --- child management -------------------------------------------------------------------
    def _start(self, backend: str) -> None:
        args = {"path": self.path, "fps": self.fps, "batch_size": self.batch_size, "short_side": self.short_side}
        self._child, self._running, self._pending = (
            _Child({**args, "backend": backend, "after_t": self._last_t}),
            backend,
            None,
        )
        opened = self._recv(self.open_timeout_s, "opening the file")
        if opened[0]["type"] == "open":
            if not hasattr(self, "info"):
                self.info = VideoInfo(**opened[0]["info"])
                self.duration_s = float(opened[0]["duration_s"])
            self._state(opened[0])
        else:
            self._pending = opened

    def _kill(self) -> None:
        if self._child is not None:
            self._child.kill()
        self._child = None

    def _recv(self, timeout: float, what: str) -> tuple[dict[str, Any], bytearray]:
        """The next message; on a stall the child is replaced (or the video abandoned) first."""
        while True:
            if self._pending is not None:
                pending, self._pending = self._pending, None
                return pending
            try:
                return self._child.recv(timeout)  # type: ignore[union-attr]
            except _Stall as exc:
                if str(exc) == "timeout":
                    reason = f"no decoded frame for {timeout:g} s while {what} with {self._running}"
                else:
                    reason = f"the {self._running} decoder process died ({exc})"
            self._stalled(reason)

    def _stalled(self, reason: str) -> None:
        """Kill the child; retry with PyAV after the last delivered frame, or give up naming the reason."""
        self._kill()
        if self._running == "pyav" or self.requested_backend != "auto":
            raise VideoStallError(self.path, f"decoding stalled: {reason}; the video was abandoned")
        self.fallback_reason = f"{reason}; retried with pyav"
        self._start("pyav")

    def _state(self, msg: dict[str, Any]) -> None:
        self.backend = msg["backend"]
        if msg.get("fallback_reason") and self.fallback_reason is None:
            self.fallback_reason = msg["fallback_reason"]
        elif msg.get("fallback_reason") and msg["fallback_reason"] not in self.fallback_reason:  # type: ignore[operator]
            self.fallback_reason = f"{self.fallback_reason}; {msg['fallback_reason']}"

    # --- iteration ----------------------------------------------------------------------------
    def __iter__(self) -> IsolatedFrameReader:
        return self

    def __next__(self) -> FrameBatch:
        if self._done:
            raise StopIteration
        msg, payload = self._recv(self.stall_timeout_s, "decoding")
        if msg["type"] == "error":
            self.close()
            raise VideoDecodeError(self.path, msg["reason"]) if msg["decode"] else RuntimeError(msg["reason"])
        self._state(msg)
        if msg["type"] == "end":
            self.decode_errors = int(msg["decode_errors"])
            self.close()
            raise StopIteration
        frames = np.frombuffer(payload, dtype=np.uint8).reshape(msg["shape"])
        times = np.asarray(msg["timestamps"], dtype=np.float64)
        self._last_t = float(times[-1])
        return FrameBatch(frames=frames, timestamps=times)

    def close(self) -> None:
        self._done = True
        self._kill()

    def __enter__(self) -> IsolatedFrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
