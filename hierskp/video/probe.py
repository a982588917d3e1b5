"""Read a video's header with PyAV (cheap: no decoding) and turn open failures into
``VideoDecodeError`` with a reason a person can act on."""

from __future__ import annotations

import os
from pathlib import Path

import av

from .errors import VideoDecodeError
from .records import Backend, DurationSource, VideoInfo

__all__ = [
    "DECORD_HANGING_CONTAINERS",
    "DECORD_UNSUPPORTED_CODECS",
    "MAX_DECORD_START_OFFSET_S",
    "check_file",
    "decord_package",
    "describe_error",
    "open_container",
    "probe",
    "video_stream",
]


def decord_package() -> str:
    """Which distribution provides the `decord` module: "decord2" (maintained fork) or "decord" (0.6.0)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("decord2")
        return "decord2"
    except PackageNotFoundError:
        return "decord"


# decord 0.6.0 bundles an FFmpeg without these decoders ("cannot find video stream"); decord2 bundles
# FFmpeg 8 with dav1d and decodes AV1 pixel-exact (tests/video), so only VVC stays with PyAV there.
DECORD_UNSUPPORTED_CODECS = frozenset({"vvc"} if decord_package() == "decord2" else {"av1", "vvc"})
# decord 0.6.0 (and decord2 3.4.0, measured) hangs at full CPU in get_batch/seek on an MPEG-TS H.264+AAC file whose clock starts at
# 10 s (measured; /work/shared/ENVIRONMENT.md): such files go straight to PyAV.
DECORD_HANGING_CONTAINERS = frozenset({"mpegts", "mpeg", "mpegvideo"})
MAX_DECORD_START_OFFSET_S = 1.0


def check_file(path: str | os.PathLike[str]) -> Path:
    """Fail fast, with a plain reason, on paths no decoder should be handed."""
    p = Path(path)
    if not p.exists():
        raise VideoDecodeError(p, "file not found")
    if not p.is_file():
        raise VideoDecodeError(p, "not a regular file")
    if p.stat().st_size == 0:
        raise VideoDecodeError(p, "file is empty (0 bytes)")
    return p


def open_container(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """``av.open`` for reading, with FFmpeg failures mapped to ``VideoDecodeError``."""
    p = check_file(path)
    try:
        return av.open(str(p), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(
            p,
            "not a readable video container: the file is corrupt, truncated before its "
            f"index (e.g. an mp4 whose 'moov' box is missing), or not a video ({describe_error(exc)})",
        ) from None


def video_stream(container: av.container.InputContainer, path: str | os.PathLike[str]) -> av.VideoStream:
    """The first video stream, checked to have a decoder and a frame size."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise VideoDecodeError(path, f"no video stream (streams found: {', '.join(kinds)})")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None or ctx.codec is None:
        raise VideoDecodeError(path, "no decoder available for the video stream's codec")
    if not ctx.width or not ctx.height:
        raise VideoDecodeError(path, f"video stream ({ctx.codec.canonical_name}) has no frame size")
    return stream


def header_duration(
    container: av.container.InputContainer, stream: av.VideoStream
) -> tuple[float | None, DurationSource]:
    """Video duration from the header and where it came from.

    Prefers the video stream's own duration (mp4 ``stream.duration``; mkv/webm per-track
    ``DURATION`` tag) over the container's, which also covers audio.
    """
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base), "stream"
    tag = _parse_hms(stream.metadata.get("DURATION") or stream.metadata.get("duration"))
    if tag:
        return tag, "stream"
    if container.duration:
        return container.duration / av.time_base, "container"
    return None, "frames"


def _parse_hms(text: str | None) -> float | None:
    """'00:01:02.500000000' -> 62.5 (None when absent or malformed)."""
    if not text:
        return None
    try:
        hours, minutes, seconds = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def average_fps(stream: av.VideoStream) -> float:
    """The stream's average frame rate (0.0 when the header has none)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Header facts about ``path`` (duration, rate, size, codec) without decoding.

    Raises ``VideoDecodeError`` for missing, empty, non-video or unreadable files.
    """
    with open_container(path) as container:
        stream = video_stream(container, path)
        ctx = stream.codec_context
        codec = ctx.codec.canonical_name
        fps = average_fps(stream)
        header_frames = int(stream.frames or 0)
        duration, source = header_duration(container, stream)
        if duration is None:
            duration = header_frames / fps if header_frames and fps else 0.0
        estimated = header_frames <= 0
        n_frames = header_frames if not estimated else round(duration * fps)
        backend: Backend = "pyav" if codec in DECORD_UNSUPPORTED_CODECS else "decord"
        return VideoInfo(
            path=os.fspath(path),
            duration_s=float(duration),
            duration_source=source,
            avg_fps=fps,
            n_frames=int(n_frames),
            n_frames_estimated=estimated,
            width=int(ctx.width),
            height=int(ctx.height),
            codec=codec,
            container=container.format.name,
            has_audio=bool(container.streams.audio),
            backend=backend,
        )


def describe_error(exc: BaseException) -> str:
    """An FFmpeg error's message without the file path PyAV appends."""
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}"
