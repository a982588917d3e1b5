"""Broken inputs raise VideoDecodeError naming the file (never a decord/av traceback,
never a hang); damage inside a file is skipped, tolerated on request, or refused."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

from hierskp.synth.encode import read_index_frame
from hierskp.video import VideoDecodeError, VideoError, VideoTruncatedError, iter_frame_batches, probe
from hierskp.video.probe import decord_package

from .conftest import SPECS

pytestmark = pytest.mark.timeout(60)  # a decoder hang fails the test instead of the run

# file key -> (error class, words the reason must contain)
BROKEN = {
    "corrupt": (VideoDecodeError, "not a readable video container"),
    "empty": (VideoDecodeError, "empty (0 bytes)"),
    "missing": (VideoDecodeError, "file not found"),
    "truncated_mp4": (VideoDecodeError, "not a readable video container"),  # 'moov' box lost
    "truncated_faststart": (VideoTruncatedError, "header says the video lasts 4.00 s"),
    "truncated_webm": (VideoTruncatedError, "header says the video lasts 4.00 s"),
}


def consume(it) -> tuple[np.ndarray, np.ndarray]:
    batches = list(it)
    return np.concatenate([b.frames for b in batches]), np.concatenate([b.timestamps for b in batches])


@pytest.mark.parametrize("backend", ["auto", "pyav", "decord"])
@pytest.mark.parametrize("key", list(BROKEN))
def test_broken_file_raises_video_decode_error(broken_files, key: str, backend: str) -> None:
    path = broken_files[key]
    cls, words = BROKEN[key]
    with pytest.raises(cls) as info:
        list(iter_frame_batches(path, fps=1.0, backend=backend))
    err = info.value
    assert isinstance(err, VideoError)
    assert err.path == str(path) and str(path) in str(err)
    assert words in err.reason, err.reason
    assert err.__cause__ is None  # no chained av/decord traceback
    assert err.__context__ is None or err.__suppress_context__


@pytest.mark.parametrize("key", ["corrupt", "empty", "missing", "truncated_mp4"])
def test_probe_raises_on_unreadable_files(broken_files, key: str) -> None:
    with pytest.raises(VideoDecodeError, match=re.escape(BROKEN[key][1])):
        probe(broken_files[key])


@pytest.mark.parametrize("key, source", [("truncated_faststart", "h264_25"), ("truncated_webm", "vp9")])
def test_allow_truncated_reads_the_frames_present(broken_files, key: str, source: str) -> None:
    it = iter_frame_batches(broken_files[key], fps=2.0, allow_truncated=True)
    assert it.truncated and it.backend == "pyav"  # decord is never trusted with a cut file
    frames, times = consume(it)
    assert 2 <= len(times) <= it.n_targets and abs(len(times) - it.duration_s * 2.0) <= 1
    assert it.duration_s < SPECS[source].duration - 1.0
    assert np.all(np.diff(times) > 0)
    got = np.array([read_index_frame(f) for f in frames])
    np.testing.assert_allclose(got / 25.0, times, atol=1e-6)


def test_allow_truncated_cannot_rescue_a_lost_index(broken_files) -> None:
    with pytest.raises(VideoDecodeError, match="moov"):
        iter_frame_batches(broken_files["truncated_mp4"], allow_truncated=True)


def test_directory_and_audio_only(video_dir, damaged_files) -> None:
    with pytest.raises(VideoDecodeError, match="not a regular file"):
        iter_frame_batches(video_dir)
    with pytest.raises(VideoDecodeError, match=r"no video stream \(streams found: audio\)"):
        iter_frame_batches(damaged_files["audio_only"])


def test_isolated_bad_packets_are_skipped(damaged_files) -> None:
    it = iter_frame_batches(damaged_files["junk_packets"], fps=2.0)
    frames, times = consume(it)
    # decord stops at the first bad packet; PyAV skips them and counts them
    assert it.backend == "pyav" and "decord failed" in it.fallback_reason
    assert it.decode_errors == 2
    assert len(times) == 8 and np.all(np.diff(times) > 0)
    assert [read_index_frame(f) for f in frames] == [0, 12, 25, 37, 50, 62, 75, 87]


def test_heavy_damage_raises_unless_allowed(damaged_files) -> None:
    path = damaged_files["corrupt_middle"]
    with pytest.raises(VideoDecodeError, match="undecodable packets") as info:
        consume(iter_frame_batches(path, fps=2.0))  # found while decoding, mid-iteration
    assert info.value.path == str(path)
    it = iter_frame_batches(path, fps=2.0, allow_truncated=True)
    frames, times = consume(it)  # stops at the damage instead of raising
    assert 1 <= len(times) < it.n_targets and np.all(np.diff(times) > 0)
    got = np.array([read_index_frame(f) for f in frames])
    np.testing.assert_allclose(got / 25.0, times, atol=1e-6)  # frames before the damage are intact


def test_duplicate_packets_make_auto_skip_decord(damaged_files) -> None:
    it = iter_frame_batches(damaged_files["dup_packets"], fps=1.0)
    assert it.backend == "pyav" and "decord counts 110 frames but the demuxer finds 100" in it.fallback_reason
    _, times = consume(it)
    assert np.all(np.diff(times) > 0)


@pytest.mark.parametrize(
    "key, words",
    # decord2 decodes AV1 (test_video_backends); decord 0.6.0 must refuse it
    [*([("av1", "cannot decode av1")] if decord_package() == "decord" else []), ("vfr_gap_mkv", "can hang")]
    + [("dup", "demuxer finds")],
)
def test_forced_decord_refuses_unsafe_files(make_video, damaged_files, key: str, words: str) -> None:
    path = damaged_files["dup_packets"] if key == "dup" else make_video(key)
    with pytest.raises(VideoDecodeError, match="decord cannot read this file safely") as info:
        iter_frame_batches(path, backend="decord")
    assert words in info.value.reason
    assert iter_frame_batches(path, backend="auto").backend == "pyav"


def test_error_pickles_and_formats(tmp_path) -> None:
    err = VideoTruncatedError(tmp_path / "a.mp4", "cut short")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is VideoTruncatedError and back.path == err.path and back.reason == "cut short"
    assert str(back) == f"{tmp_path / 'a.mp4'}: cut short"


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"backend": "opencv"}, {"fps": 0.0}, {"fps": float("nan")}])
def test_bad_arguments_are_value_errors(make_video, kwargs) -> None:
    with pytest.raises(ValueError):
        iter_frame_batches(make_video("short"), **kwargs)
