"""The cache's commit log (`cache_schema.commits`): every completion-marker change moves the generation,
with two writers at once, and a writer killed between its marker and its log record still shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np

import cache_schema as cs
from cache_schema import commits
from cache_schema import layout as L

WRITE = textwrap.dedent(
    """
    import sys, numpy as np, cache_schema as cs
    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = cs.open_cache(url, "a", fingerprint_id="fp")
    for i in range(n):
        w = store.begin_video(f"{prefix}{i:03d}", {}, {"split": "test", "operations": [], "frames": []})
        w.append_frames(np.ones((3, 4), np.float32), np.arange(3.0))
        w.write_texts(np.ones((1, 2)), np.zeros((0, 2)), np.zeros((0, 2)))
        w.write_annotation_arrays(np.zeros((0, 2)), np.zeros(0))
        w.finalize()
    """
)
# the same writer, SIGKILLed right after its first marker write, before the log's end record
KILLED = (
    "import os, signal, cache_schema.commits as c\n"
    "_append = c._append\n"
    "def _kill_at_end(path, rec):\n"
    "    if rec['phase'] == 'end' and rec['op'] == 'commit':\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    _append(path, rec)\n"
    "c._append = _kill_at_end\n" + WRITE
)


def _write(url: str, prefix: str, n: int, script: str = WRITE) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", script, url, prefix, str(n)], env=env)


def _records(url: str) -> list[dict]:
    return [json.loads(line) for line in (commits.log_path(cs.open_cache(url).root).read_text().splitlines())]


def test_two_writers_lose_no_record(tmp_path):
    url = str(tmp_path / "c.zarr")
    store = cs.open_cache(url, "a", fingerprint_id="fp")
    before = store.generation()
    procs = [_write(url, p, 12) for p in ("a", "b")]
    assert [p.wait(120) for p in procs] == [0, 0]
    recs = _records(url)
    commits_done = [r for r in recs if r["op"] == "commit"]
    assert len(commits_done) == 2 * 2 * 12  # a begin and an end per video and writer, none lost or torn
    assert {r["video"] for r in commits_done} == {f"{p}{i:03d}" for p in "ab" for i in range(12)}
    assert not store.unchanged_since(before)
    now = store.generation()
    assert now["pending"] == {} and store.unchanged_since(now)
    assert len(store.video_ids()) == 24


def test_a_reader_between_begin_and_marker_sees_the_change_later(tmp_path):
    """The race the begin record exists for: the generation is read while a writer is mid-change."""
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    w = store.begin_video("v", {}, {"operations": [], "frames": []})
    w.append_frames(np.ones((3, 4), np.float32), np.arange(3.0))
    w.write_texts(np.ones((1, 2)), np.zeros((0, 2)), np.zeros((0, 2)))
    w.write_annotation_arrays(np.zeros((0, 2)), np.zeros(0))
    change = commits.marker_change(store.root, "commit", "v")
    change.__enter__()  # begin appended; the marker is not written yet
    seen = store.generation()
    assert list(seen["pending"]) == ["v"] and store.video_ids() == []  # what a reader indexes now
    w.group.attrs[L.COMPLETE] = {"n_frames": 3}  # the marker lands; the writer dies before its end record
    assert not store.unchanged_since(seen)  # one metadata read of the pending video shows it


def test_sigkill_between_marker_and_log(tmp_path):
    url = str(tmp_path / "c.zarr")
    assert _write(url, "ok", 2).wait(120) == 0
    store = cs.open_cache(url)
    clean = store.generation()
    proc = _write(url, "killed", 3, KILLED)
    assert proc.wait(120) == -signal.SIGKILL
    assert store.status("killed000") == "complete"  # the marker was written, the end record never
    gen = store.generation()
    assert list(gen["pending"]) == ["killed000"] and not store.unchanged_since(clean)
    assert store.unchanged_since(gen)  # nothing moves while nobody writes
    store_a = cs.open_cache(url, "a")
    store_a.delete_video("killed000")  # a later writer of that video settles it
    assert not store.unchanged_since(gen) and store.generation()["pending"] == {}


def test_a_cache_without_log_has_no_generation(tmp_path):
    """Caches of layout minor < 2 (or object stores) have no log: readers must inspect the videos."""
    url = str(tmp_path / "c.zarr")
    assert _write(url, "v", 1).wait(120) == 0
    commits.log_path(cs.open_cache(url).root).unlink()
    store = cs.open_cache(url)
    assert store.generation() is None and not store.unchanged_since({"log_size": 0})


def test_local_raw_reads_skip_zarrs_event_loop(tmp_path, monkeypatch):
    """A search checks each hit's group metadata: on a local store that is a file read, not a hand-off to
    zarr's event-loop thread (~25 ms a call on a loaded box)."""
    from cache_schema import rawstore
    from tests.fixtures.synthetic_cache import make_synthetic_cache

    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=2, vision_dim=8, op_frames=(2, 4))
    vid = store.video_ids()[0]
    expected = (tmp_path / "c.zarr" / "videos" / vid / "zarr.json").read_bytes()

    def no_loop(*_a, **_k):
        raise AssertionError("went through zarr's event loop")

    monkeypatch.setattr(rawstore, "sync", no_loop)
    assert rawstore.get_bytes(store.root, f"videos/{vid}/zarr.json") == expected
    assert rawstore.get_bytes(store.root, "videos/nope/zarr.json") is None
    assert rawstore.get_bytes(store.root, f"videos/{vid}") is None  # a folder is no key
