"""Sampling rules (pure functions) and the PyAV encode helper."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from hierskp.synth.encode import as_fraction, encode_video, make_index_frame, read_index_frame
from hierskp.video import sample_times
from hierskp.video.sampling import frame_span, output_size, select_frames


@pytest.mark.parametrize(
    "duration, fps, expected",
    [
        (4.0, 1.0, 4),
        (4.0, 2.0, 8),
        (4.0, 0.5, 2),
        (4.004, 1.0, 5),
        (0.4, 1.0, 1),
        (0.4, 0.5, 1),
        (3600.0, 1.0, 3600),
        (4.0000002, 1.0, 4),
    ],
)
def test_sample_times_count_and_grid(duration: float, fps: float, expected: int) -> None:
    t = sample_times(duration, fps)
    assert t.dtype == np.float64 and len(t) == expected
    assert abs(len(t) - duration * fps) <= 1
    np.testing.assert_allclose(t, np.arange(expected) / fps)
    assert t[-1] < duration  # every target lies inside the video


def test_sample_times_empty_and_invalid() -> None:
    assert len(sample_times(0.0, 1.0)) == 0
    assert len(sample_times(float("nan"), 1.0)) == 0
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError):
            sample_times(4.0, bad)


def test_select_frames_takes_frame_shown_and_dedupes() -> None:
    frames = np.array([0.0, 0.04, 0.08, 2.5, 2.54])  # a 2.4 s frozen stretch after 0.08
    targets = sample_times(3.0, 2.0)  # 0, 0.5, ..., 2.5
    idx = select_frames(frames, targets)
    # 0 -> frame 0; 0.5, 1.0, 1.5, 2.0 -> frame 2 (shown until 2.5); 2.5 -> frame 3 (exact tie)
    assert idx.tolist() == [0, 2, 3]
    assert np.all(np.diff(idx) > 0)


def test_select_frames_before_first_frame_and_rounding() -> None:
    assert select_frames(np.array([0.1, 0.2]), np.array([0.0])).tolist() == [0]
    # a frame a hair (float rounding) after the target still counts as shown at it
    assert select_frames(np.array([0.0, 1.0 + 1e-9]), np.array([1.0])).tolist() == [1]
    assert select_frames(np.zeros(0), np.array([0.0])).tolist() == []


def test_frame_span_uses_median_interval() -> None:
    assert frame_span(np.arange(100) / 25, 0.0) == pytest.approx(4.0)
    assert frame_span(np.array([0.0]), 0.04) == pytest.approx(0.04)
    assert frame_span(np.zeros(0), 0.04) == 0.0


@pytest.mark.parametrize(
    "w, h, short, expected",
    [
        (96, 64, None, (96, 64)),
        (1920, 1080, 224, (398, 224)),
        (1080, 1920, 224, (224, 398)),
        (96, 64, 128, (192, 128)),
        (64, 64, 32, (32, 32)),
    ],
)
def test_output_size_keeps_aspect(w: int, h: int, short: int | None, expected: tuple[int, int]) -> None:
    assert output_size(w, h, short) == expected


def test_as_fraction() -> None:
    assert as_fraction(29.97) == Fraction(30000, 1001)
    assert as_fraction(25) == 25
    assert as_fraction(Fraction(24000, 1001)) == Fraction(24000, 1001)


@pytest.mark.parametrize("index", [0, 1, 37, 255, 1000, 4095])
def test_index_frame_roundtrip(index: int) -> None:
    img = make_index_frame(index, 96, 64)
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8
    assert read_index_frame(img) == index


def test_encode_video_vfr_timestamps_and_audio(tmp_path) -> None:
    times = [0.0, 0.03, 0.1, 0.5, 0.52, 1.3]
    path = encode_video(
        tmp_path / "vfr.mkv",
        (make_index_frame(i) for i in range(len(times))),
        fps=25,
        timestamps=times,
        audio=True,
    )
    with av.open(str(path)) as c:
        assert c.streams.audio, "audio track missing"
        v = c.streams.video[0]
        got = sorted(float(p.pts * p.time_base) for p in c.demux(v) if p.size)
    np.testing.assert_allclose(got, times, atol=1e-3)


def test_encode_video_rejects_no_frames(tmp_path) -> None:
    with pytest.raises(ValueError):
        encode_video(tmp_path / "x.mp4", [], fps=25)
