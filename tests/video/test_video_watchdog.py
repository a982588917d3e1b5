"""The stall watchdog: a decoder that never returns (or holds the GIL) fails its video alone, in time."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hierskp.synth.encode import encode_video, make_index_frame, read_index_frame
from hierskp.video import IsolatedFrameReader, VideoStallError, iter_frame_batches
from hierskp.video.isolated import FACTORY_ENV


@pytest.fixture()
def double(monkeypatch):
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", here + ":" + ":".join(p for p in sys.path if p))

    def use(name: str) -> None:
        monkeypatch.setenv(FACTORY_ENV, f"hang_double:{name}")

    return use


@pytest.fixture(scope="module")
def hang_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hang")
    src = encode_video(d / "ok.mp4", (make_index_frame(i, 96, 64) for i in range(250)), fps=25, gop_size=25)
    return Path(shutil.copy(src, d / "hang.mp4"))


@pytest.mark.parametrize("kind", ["gil_hog", "never_returns"])
def test_hung_decoder_is_abandoned_within_the_watchdog_time(double, hang_file, kind):
    double(kind)
    t0 = time.monotonic()
    with pytest.raises(VideoStallError, match=r"hang\.mp4: decoding stalled: no decoded frame for 1 s"):
        IsolatedFrameReader(hang_file, stall_timeout_s=0.5, open_timeout_s=1.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 2 * (1.0 + 1.0), elapsed  # decord, then PyAV: one open timeout each, plus start-up


def test_decord_stall_mid_video_resumes_with_pyav(double, hang_file):
    double("decord_hangs_mid_video")
    reader = IsolatedFrameReader(hang_file, fps=2.0, batch_size=4, stall_timeout_s=1.0)
    batches = list(reader)
    times = np.concatenate([b.timestamps for b in batches])
    expected = np.concatenate([b.timestamps for b in iter_frame_batches(hang_file, fps=2.0, backend="pyav")])
    np.testing.assert_array_equal(times, expected)  # no frame repeated or skipped across the switch
    frames = np.concatenate([b.frames for b in batches])
    assert [read_index_frame(f) for f in frames] == [round(t * 25) for t in times]
    assert reader.backend == "pyav" and "no decoded frame for 1 s" in reader.fallback_reason


def test_isolated_reader_matches_in_process(hang_file):
    ok = hang_file.with_name("ok.mp4")
    a = list(IsolatedFrameReader(ok, fps=3.0, batch_size=5))
    b = list(iter_frame_batches(ok, fps=3.0, batch_size=5))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.frames, y.frames)
        np.testing.assert_array_equal(x.timestamps, y.timestamps)
