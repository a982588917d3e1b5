"""Decoding real (tiny) videos: counts, timestamps, right pixels, backend choice, streaming."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hierskp.synth.encode import read_index_frame
from hierskp.video import FrameBatch, decord_backend, iter_frame_batches, probe
from hierskp.video.probe import decord_package
from hierskp.video.sampling import TIME_EPS

from .conftest import SPECS, VideoSpec

pytestmark = pytest.mark.timeout(120)  # a decoder hang fails the test instead of the run

# Every spec except the special-purpose ones, through every backend that may read it.
CODEC_KEYS = [
    "h264_25",
    "h264_2997",
    "h264_50",
    "h264_audio",
    "hevc",
    "vp9",
    "vp9_audio",
    "mpeg4",
    "av1",
    "vfr_mp4",
    "vfr_mkv",
    "short",
]
# decord 0.6.0 cannot decode AV1, decord2 can: the rest go through decord either way
AUTO_BACKEND = {} if decord_package() == "decord2" else {"av1": "pyav"}


def read_all(it) -> tuple[np.ndarray, np.ndarray, list[FrameBatch]]:
    batches = list(it)
    frames = np.concatenate([b.frames for b in batches]) if batches else np.zeros((0, 64, 96, 3), np.uint8)
    times = np.concatenate([b.timestamps for b in batches]) if batches else np.zeros(0)
    return frames, times, batches


def expected_frames(spec: VideoSpec, targets: np.ndarray) -> np.ndarray:
    """Indices of the frames shown at the targets (latest start <= target), deduplicated."""
    idx = np.searchsorted(spec.frame_times(), targets + TIME_EPS, side="right") - 1
    return np.unique(np.clip(idx, 0, None))


# forcing decord on a file it cannot read safely is an error: see test_video_errors
CASES = [(k, b) for k in CODEC_KEYS for b in ("auto", "pyav", "decord") if b != "decord" or SPECS[k].decord_ok]


@pytest.mark.parametrize("fps", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("key, backend", CASES)
def test_rows_timestamps_and_pixels(make_video, key: str, backend: str, fps: float) -> None:
    spec = SPECS[key]
    path = make_video(key)
    it = iter_frame_batches(path, fps=fps, batch_size=4, backend=backend)
    frames, times, batches = read_all(it)

    assert it.backend == (AUTO_BACKEND.get(key, "decord") if backend == "auto" else backend)
    # T = duration x fps (+-1) rows, strictly increasing, bounded batches
    assert abs(len(times) - spec.duration * fps) <= 1, (len(times), spec.duration * fps)
    assert len(times) >= 1
    assert np.all(np.diff(times) > 0)
    assert all(1 <= len(b) <= 4 and b.frames.shape[0] == len(b) for b in batches)
    assert frames.dtype == np.uint8 and frames.shape[1:] == (64, 96, 3)
    assert times.dtype == np.float64

    # the pixels are the frames shown at the sample times
    got = np.array([read_index_frame(f) for f in frames])
    np.testing.assert_array_equal(got, expected_frames(spec, it.sample_times))
    # and each timestamp is that frame's presentation time (within a frame period)
    np.testing.assert_allclose(times, spec.frame_times()[got], atol=1e-3)


@pytest.mark.skipif(
    decord_package() == "decord2", reason="decord2 decodes AV1 itself (test_rows_timestamps_and_pixels)"
)
def test_av1_goes_through_pyav_fallback(make_video) -> None:
    it = iter_frame_batches(make_video("av1"), fps=1.0)
    assert it.backend == "pyav"
    assert "av1" in it.fallback_reason
    assert probe(make_video("av1")).backend == "pyav"
    assert len(read_all(it)[1]) == 4


@pytest.mark.parametrize("key", ["h264_25", "h264_2997", "vfr_mp4", "h264_audio"])
def test_decord_and_pyav_agree_on_h264(make_video, key: str) -> None:
    path = make_video(key)
    fd, td, _ = read_all(iter_frame_batches(path, fps=2.0, backend="decord"))
    fp, tp, _ = read_all(iter_frame_batches(path, fps=2.0, backend="pyav"))
    np.testing.assert_array_equal(td, tp)
    np.testing.assert_array_equal(fd, fp)  # same FFmpeg H.264 decoder, same RGB conversion


def test_short_side_resizes_both_backends(make_video) -> None:
    path = make_video("h264_25")
    fd, td, _ = read_all(iter_frame_batches(path, fps=1.0, short_side=100, backend="decord"))
    fp, tp, _ = read_all(iter_frame_batches(path, fps=1.0, short_side=100, backend="pyav"))
    assert fd.shape == fp.shape == (4, 100, 150, 3)
    np.testing.assert_array_equal(td, tp)
    # different swscale versions: close, not identical
    assert np.abs(fd.astype(int) - fp.astype(int)).mean() < 4
    assert [read_index_frame(f) for f in fd] == [read_index_frame(f) for f in fp] == [0, 25, 50, 75]


@pytest.mark.parametrize("short_side", [None, 100])
def test_rotated_video_is_returned_upright_by_both_backends(make_video, short_side: int | None) -> None:
    path = make_video("rotated")
    dec = iter_frame_batches(path, fps=2.0, short_side=short_side, backend="decord")
    fd, td, _ = read_all(dec)
    fp, tp, _ = read_all(iter_frame_batches(path, fps=2.0, short_side=short_side, backend="pyav"))
    expected = (64, 96) if short_side is None else (100, 150)  # (width, height) as displayed
    assert dec.rotation == 90 and dec.frame_size == expected
    assert fd.shape == fp.shape == (4, expected[1], expected[0], 3)
    np.testing.assert_array_equal(td, tp)
    assert np.abs(fd.astype(int) - fp.astype(int)).mean() < 4
    assert [read_index_frame(np.rot90(f, -1)) for f in fp] == [0, 12, 25, 37]


def test_decord_resize_bug_width_falls_back(make_video) -> None:
    # short side 32 -> 48x32: decord 0.6.0 mis-strides 48 px wide RGB frames
    it = iter_frame_batches(make_video("h264_25"), fps=1.0, short_side=32)
    assert it.backend == "pyav" and "first frame" in it.fallback_reason
    frames, _, _ = read_all(it)
    assert frames.shape == (4, 32, 48, 3)
    assert [read_index_frame(f) for f in frames] == [0, 25, 50, 75]


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_vfr_gap_yields_each_frame_once(make_video, backend: str) -> None:
    spec = SPECS["vfr_gap"]
    it = iter_frame_batches(make_video("vfr_gap"), fps=2.0, backend=backend)
    frames, times, _ = read_all(it)
    assert np.all(np.diff(times) > 0)
    # targets 2.0 .. 4.0 all fall in the frozen stretch: one row for them, not five
    assert len(times) < len(it.sample_times) == math.ceil(spec.duration * 2.0)
    got = np.array([read_index_frame(f) for f in frames])
    np.testing.assert_array_equal(got, expected_frames(spec, it.sample_times))


@pytest.mark.parametrize("fps", [0.5, 1.0, 2.0])
def test_very_short_video_gives_one_frame(make_video, fps: float) -> None:
    for backend in ("decord", "pyav"):
        frames, times, _ = read_all(iter_frame_batches(make_video("short"), fps=fps, backend=backend))
        assert times.tolist() == [0.0] and read_index_frame(frames[0]) == 0


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_single_frame_video(tmp_path, suffix: str) -> None:
    from hierskp.synth.encode import encode_video, make_index_frame

    codec = "libvpx-vp9" if suffix == ".webm" else "libx264"
    path = encode_video(tmp_path / f"one{suffix}", [make_index_frame(7)], fps=25, codec=codec)
    for backend in ("auto", "pyav"):
        frames, times, _ = read_all(iter_frame_batches(path, fps=1.0, backend=backend))
        assert times.tolist() == [0.0] and read_index_frame(frames[0]) == 7


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_long_video_streams_in_bounded_batches(make_video, backend: str) -> None:
    it = iter_frame_batches(make_video("long"), fps=2.0, batch_size=16, backend=backend)
    sizes, last = [], -1.0
    for batch in it:  # consume one batch at a time, as the extractor does
        sizes.append(len(batch))
        assert batch.frames.shape[0] <= 16
        assert batch.timestamps[0] > last
        last = float(batch.timestamps[-1])
    assert sum(sizes) == 300 and max(sizes) == 16 and all(s == 16 for s in sizes[:-1])
    assert last == pytest.approx(149.5)


def test_probe_reports_header_facts(make_video) -> None:
    info = probe(make_video("h264_2997"))
    assert info.codec == "h264" and info.backend == "decord"
    assert (info.width, info.height) == (96, 64)
    assert info.avg_fps == pytest.approx(30000 / 1001)
    assert info.n_frames == 120 and not info.n_frames_estimated
    assert info.duration_s == pytest.approx(120 * 1001 / 30000, abs=1e-3)
    assert not info.has_audio and probe(make_video("h264_audio")).has_audio
    webm = probe(make_video("vp9"))
    assert webm.codec == "vp9" and webm.n_frames_estimated and webm.n_frames == 100
    assert webm.duration_source == "stream" and webm.duration_s == pytest.approx(4.0)


def test_decord_failure_mid_video_resumes_with_pyav(make_video, monkeypatch) -> None:
    real = decord_backend.DecordSource.iter_batches

    def flaky(self, targets, batch_size):
        gen = real(self, targets, batch_size)
        yield next(gen)
        raise decord_backend.DecordFailed("decord failed decoding frames (simulated)")

    monkeypatch.setattr(decord_backend.DecordSource, "iter_batches", flaky)
    path = make_video("h264_50")
    it = iter_frame_batches(path, fps=2.0, batch_size=3)
    frames, times, _ = read_all(it)
    assert it.backend == "pyav" and "simulated" in it.fallback_reason
    ref_frames, ref_times, _ = read_all(iter_frame_batches(path, fps=2.0, backend="pyav"))
    np.testing.assert_array_equal(times, ref_times)  # nothing repeated, nothing skipped
    np.testing.assert_array_equal(frames, ref_frames)


def test_iterator_closes_early(make_video) -> None:
    with iter_frame_batches(make_video("long"), fps=2.0, batch_size=8, backend="pyav") as it:
        first = next(it)
    assert len(first) == 8
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.parametrize("fps", [12.5, 25.0])
def test_auto_reads_dense_sampling_with_pyav(make_video, fps: float) -> None:
    """Measured in bench/bench_decode.py: every frame costs decord2 3.5-5x PyAV's CPU (10-s GOPs)."""
    it = iter_frame_batches(make_video("h264_25"), fps=fps, backend="auto")
    assert it.backend == "pyav" and "dense sampling" in it.fallback_reason
    frames, times, _ = read_all(it)
    got = np.array([read_index_frame(f) for f in frames])
    np.testing.assert_array_equal(got, expected_frames(SPECS["h264_25"], it.sample_times))
    assert iter_frame_batches(make_video("h264_25"), fps=fps, backend="decord").backend == "decord"  # forced: kept
