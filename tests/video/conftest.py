"""Small real videos for the video-layer tests, encoded once per session with PyAV.

Every frame shows its own index (``make_index_frame``), so a test can check that the
frame returned for a timestamp is the right one. Videos are built lazily: a test run
that selects only a few tests encodes only the videos those tests use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hierskp.synth.encode import encode_video, make_index_frame
from hierskp.video.probe import decord_package

W, H = 96, 64


def encoder_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


def _irregular_times(n: int, seed: int, lo: float = 0.02, hi: float = 0.06) -> np.ndarray:
    """Strictly increasing frame times with jittered gaps (mean 0.04 s), starting at 0."""
    gaps = np.random.default_rng(seed).uniform(lo, hi, n - 1)
    return np.concatenate([[0.0], np.cumsum(gaps)]).round(3)


@dataclass(frozen=True)
class VideoSpec:
    """How a fixture video is made and what it must decode to."""

    filename: str
    n_frames: int
    fps: Fraction = Fraction(25)
    codec: str = "libx264"
    audio: bool = False
    times: tuple[float, ...] | None = None  # VFR frame times (s)
    container_options: tuple[tuple[str, str], ...] = ()
    decord_ok: bool = True  # may backend="decord" be forced on it?
    rotation: int = 0  # display rotation metadata (degrees counter-clockwise)

    def frame_times(self) -> np.ndarray:
        if self.times is not None:
            return np.asarray(self.times)
        return np.arange(self.n_frames) / float(self.fps)

    @property
    def duration(self) -> float:
        t = self.frame_times()
        return float(t[-1] + (np.median(np.diff(t)) if len(t) > 1 else 1 / float(self.fps)))


_VFR = tuple(_irregular_times(110, seed=1))
_VFR_GAP = tuple(np.concatenate([_irregular_times(50, 2), 4.5 + _irregular_times(30, 3)]))

SPECS: dict[str, VideoSpec] = {
    "h264_25": VideoSpec("h264_25.mp4", 100),
    "h264_2997": VideoSpec("h264_2997.mp4", 120, fps=Fraction(30000, 1001)),
    "h264_50": VideoSpec("h264_50.mp4", 200, fps=Fraction(50)),
    "h264_audio": VideoSpec("h264_audio.mp4", 100, audio=True),
    "h264_faststart": VideoSpec("h264_faststart.mp4", 100, container_options=(("movflags", "faststart"),)),
    "hevc": VideoSpec("hevc.mp4", 100, codec="libx265"),
    "vp9": VideoSpec("vp9.webm", 100, codec="libvpx-vp9"),
    "vp9_audio": VideoSpec("vp9_audio.webm", 100, codec="libvpx-vp9", audio=True),
    "mpeg4": VideoSpec("mpeg4.avi", 100, codec="mpeg4"),
    # decord2 decodes AV1 (FFmpeg 8 + dav1d); decord 0.6.0 cannot
    "av1": VideoSpec("av1.mkv", 100, codec="libsvtav1", decord_ok=decord_package() == "decord2"),
    "vfr_mp4": VideoSpec("vfr.mp4", 110, times=_VFR),
    "vfr_mkv": VideoSpec("vfr.mkv", 110, times=_VFR),
    # a 2.5 s gap holding one frame (a frozen screen): several targets share that frame
    "vfr_gap": VideoSpec("vfr_gap.mp4", 80, times=_VFR_GAP),
    # mkv stores no frame count, and its average rate (from the first frames) disagrees
    # with the real count: decord's guard refuses it
    "vfr_gap_mkv": VideoSpec("vfr_gap.mkv", 80, times=_VFR_GAP, decord_ok=False),
    "short": VideoSpec("short.mp4", 10),  # 0.4 s
    "long": VideoSpec("long.mp4", 600, fps=Fraction(4)),  # 150 s
    "rotated": VideoSpec("rotated.mp4", 50, rotation=90),  # a phone held upright
}


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def make_video(video_dir: Path) -> Callable[[str], Path]:
    """``make_video(key)`` -> path of the encoded ``SPECS[key]`` video (cached)."""
    cache: dict[str, Path] = {}

    def build(key: str) -> Path:
        if key not in cache:
            spec = SPECS[key]
            if not encoder_available(spec.codec):
                pytest.skip(f"this PyAV wheel has no {spec.codec} encoder")
            cache[key] = encode_video(
                video_dir / spec.filename,
                (make_index_frame(i, W, H) for i in range(spec.n_frames)),
                fps=spec.fps,
                codec=spec.codec,
                audio=spec.audio,
                timestamps=spec.times,
                container_options=dict(spec.container_options),
                rotation=spec.rotation,
            )
        return cache[key]

    return build


@pytest.fixture(scope="session")
def broken_files(video_dir: Path, make_video: Callable[[str], Path]) -> dict[str, Path]:
    """Damaged inputs: random bytes, empty, missing, and first halves of real files."""
    d = video_dir / "broken"
    d.mkdir(exist_ok=True)
    files = {
        "corrupt": d / "random_bytes.mp4",
        "empty": d / "empty.mp4",
        "missing": d / "does_not_exist.mp4",
        "truncated_mp4": d / "half_moov_at_end.mp4",
        "truncated_faststart": d / "half_faststart.mp4",
        "truncated_webm": d / "half.webm",
    }
    files["corrupt"].write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    files["empty"].write_bytes(b"")
    halves = {"truncated_mp4": "h264_25", "truncated_faststart": "h264_faststart", "truncated_webm": "vp9"}
    for key, src in halves.items():
        data = make_video(src).read_bytes()
        files[key].write_bytes(data[: len(data) // 2])
    return files


def _remux_with_extra_packets(src: Path, dst: Path, every: int, junk: bool) -> Path:
    """Copy src's video packets into an mkv, adding after every ``every``-th packet either a
    junk packet (bytes no decoder accepts) or a duplicate of it (same pts)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for i, pkt in enumerate(p for p in inp.demux(vin) if p.size):
            pkt.stream = vout
            out.mux(pkt)
            if i % every == every // 2:
                extra = av.Packet(b"\x00\x00\x00\x02\x09\x10" if junk else bytes(pkt))
                extra.pts, extra.dts, extra.time_base = pkt.pts + (1 if junk else 0), pkt.dts, pkt.time_base
                extra.stream = vout
                out.mux(extra)
    return dst


def _audio_only(dst: Path) -> Path:
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        for k in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, k * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst


@pytest.fixture(scope="session")
def damaged_files(video_dir: Path, make_video: Callable[[str], Path]) -> dict[str, Path]:
    """Files that open but are damaged inside, plus a file without video."""
    d = video_dir / "damaged"
    d.mkdir(exist_ok=True)
    h264 = make_video("h264_25")
    data = bytearray(make_video("h264_faststart").read_bytes())
    a, b = int(len(data) * 0.6), int(len(data) * 0.7)
    data[a:b] = np.random.default_rng(1).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    (d / "corrupt_middle.mp4").write_bytes(bytes(data))
    return {
        "junk_packets": _remux_with_extra_packets(h264, d / "junk_packets.mkv", every=40, junk=True),
        "dup_packets": _remux_with_extra_packets(h264, d / "dup_packets.mkv", every=10, junk=False),
        "corrupt_middle": d / "corrupt_middle.mp4",
        "audio_only": _audio_only(d / "audio_only.m4a"),
    }
