"""Write small synthetic videos with PyAV (no ffmpeg CLI needed).

Used by the synthetic corpus generator, the test fixtures and the benchmarks. Frames are
RGB ``uint8 [H, W, 3]`` arrays; the container format follows the file extension
(``.mp4``, ``.mkv``, ``.webm``, ``.avi``, ``.mov``).

``make_index_frame`` / ``read_index_frame`` draw and recover a frame number as a row of
black/white stripes, which survives lossy compression, so tests can check that a reader
returned the frame it claims.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["encode_video", "make_index_frame", "read_index_frame", "as_fraction"]

# Fast, quiet defaults per encoder; callers override or extend them with ``options``.
_DEFAULT_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "veryfast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12", "svtav1-params": "lp=2"},
    "libaom-av1": {"cpu-used": "8", "usage": "realtime"},
}
# Audio codec per container (the first one the container accepts).
_AUDIO_CODEC = {".webm": "libopus", ".avi": "mp2", ".mkv": "libopus"}
_AUDIO_RATE = 48000


def as_fraction(fps: float | Fraction | int) -> Fraction:
    """Exact rate for a float fps: 29.97 -> 30000/1001, 25.0 -> 25."""
    if isinstance(fps, Fraction):
        frac = fps
    elif float(fps).is_integer():
        frac = Fraction(int(fps))
    else:
        ntsc = Fraction(round(fps * 1.001) * 1000, 1001)  # 23.976, 29.97, 59.94 ...
        frac = ntsc if abs(float(ntsc) - fps) < 0.005 else Fraction(fps).limit_denominator(1001)
    if frac <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    return frac


def encode_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = False,
    timestamps: Sequence[float] | None = None,
    time_base: Fraction | None = None,
    options: Mapping[str, str] | None = None,
    gop_size: int | None = None,
    container_options: Mapping[str, str] | None = None,
    rotation: int = 0,
) -> Path:
    """Encode RGB frames (a list or a generator) to ``path`` and return the path.

    Frames are uint8 ``[H, W, 3]`` RGB, all the same size (even width and height for
    yuv420p). Frames are consumed one at a time, so a generator keeps memory flat.

    fps: nominal rate; frame ``i`` gets time ``i / fps`` unless ``timestamps`` is given.
    timestamps: per-frame presentation times in seconds, strictly increasing, for
        variable-frame-rate videos; they are stored as ``round(t / time_base)``.
    time_base: encoder time base (default ``1/fps`` for CFR, ``1/90000`` with timestamps).
    audio: add a mono sine tone covering the video (aac, or opus/mp2 where the
        container needs it) so readers are exercised on multi-stream files.
    gop_size: frames between keyframes (encoder default when None).
    container_options: muxer options, e.g. ``{"movflags": "faststart"}`` to put the
        mp4 index first (as streaming-ready recordings do).
    rotation: display rotation in degrees counter-clockwise (a phone held upright
        writes 90 or 270); stored as metadata, the pixels are encoded as given.
    """
    path = Path(path)
    rate = as_fraction(fps)
    if time_base is None:
        time_base = Fraction(1, 90000) if timestamps is not None else 1 / rate
    opts = {**_DEFAULT_OPTIONS.get(codec, {}), **(options or {})}
    frame_iter = iter(frames)
    first = next(frame_iter, None)
    if first is None:
        raise ValueError("encode_video needs at least one frame")
    height, width = first.shape[:2]

    if codec == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner to stderr otherwise
    with av.open(str(path), mode="w", options=dict(container_options or {})) as container:
        stream = container.add_stream(codec, rate=rate, options=opts)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        if gop_size is not None:
            stream.codec_context.gop_size = gop_size
        astream = None
        if audio:
            acodec = _AUDIO_CODEC.get(path.suffix.lower(), "aac")
            astream = container.add_stream(acodec, rate=_AUDIO_RATE, layout="mono")
        tone = _Tone(container, astream) if astream is not None else None
        _write_frames(container, stream, tone, _chain(first, frame_iter), rate, time_base, timestamps)
    return path


def _write_frames(
    container: av.container.OutputContainer,
    stream: av.VideoStream,
    tone: _Tone | None,
    frames: Iterable[np.ndarray],
    rate: Fraction,
    time_base: Fraction,
    timestamps: Sequence[float] | None,
) -> None:
    """Encode and mux every frame (audio interleaved), then flush the encoder and close the tone."""
    last_t = Fraction(0)
    for i, img in enumerate(frames):
        t = Fraction(timestamps[i]) if timestamps is not None else i / rate
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8), format="rgb24")
        frame.pts = round(t / time_base)
        frame.time_base = time_base
        container.mux(stream.encode(frame))
        if tone is not None:
            tone.write_until(float(t))  # interleave audio with video, as recorders do
        last_t = t
    container.mux(stream.encode(None))
    if tone is not None:
        tone.write_until(float(last_t) + (float(1 / rate) if timestamps is None else 0.04))
        tone.flush()


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


class _Tone:
    """A 440 Hz mono tone written in encoder-sized chunks, on demand."""

    def __init__(self, container: av.container.OutputContainer, astream: av.AudioStream) -> None:
        self.container, self.astream = container, astream
        self.chunk = astream.codec_context.frame_size or 1024
        self.fmt = astream.codec_context.format.name
        self.written = 0  # samples

    def write_until(self, seconds: float) -> None:
        while self.written < seconds * _AUDIO_RATE:
            t = np.arange(self.written, self.written + self.chunk) / _AUDIO_RATE
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            if self.fmt == "s16":
                samples = (samples * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(samples[None, :], format=self.fmt, layout="mono")
            frame.sample_rate, frame.pts = _AUDIO_RATE, self.written
            frame.time_base = Fraction(1, _AUDIO_RATE)
            self.container.mux(self.astream.encode(frame))
            self.written += self.chunk

    def flush(self) -> None:
        self.container.mux(self.astream.encode(None))


_BITS = 12  # stripes per frame: frame numbers up to 4095


def make_index_frame(index: int, width: int = 96, height: int = 64) -> np.ndarray:
    """An RGB frame showing ``index`` in binary as vertical black/white stripes.

    Stripes are wide (width / 12 px) so the value survives yuv420 lossy coding; a
    colour tint that also varies with the index makes frames visually distinct.
    """
    if not 0 <= index < 2**_BITS:
        raise ValueError(f"index must be in [0, {2**_BITS}), got {index}")
    img = np.zeros((height, width, 3), dtype=np.uint8)
    edges = np.linspace(0, width, _BITS + 1).astype(int)
    for bit in range(_BITS):
        if (index >> (_BITS - 1 - bit)) & 1:
            img[:, edges[bit] : edges[bit + 1]] = 235
    band = max(1, height // 8)  # a coloured bottom band; ignored by read_index_frame
    img[-band:] = ((index * 37) % 256, (index * 91) % 256, (index * 13) % 256)
    return img


def read_index_frame(frame: np.ndarray) -> int:
    """Recover the number drawn by ``make_index_frame`` (works on resized frames)."""
    height, width = frame.shape[:2]
    rows = frame[: max(1, height - max(1, height // 8) - 1)]
    grey = rows.astype(np.float32).mean(axis=(0, 2))
    edges = np.linspace(0, width, _BITS + 1)
    value = 0
    for bit in range(_BITS):
        lo, hi = edges[bit], edges[bit + 1]
        pad = (hi - lo) / 4  # read the middle of each stripe, away from blurred borders
        mid = grey[int(lo + pad) : max(int(lo + pad) + 1, int(hi - pad))]
        value = (value << 1) | int(mid.mean() > 127)
    return value
