"""`hierskp search --server URL`: the CLI asks a running `hierskp serve` (a real process on 127.0.0.1) and
prints the hits a local search of the same run and cache prints, in a process that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from .conftest import start_server, stop, wait_ready

pytestmark = pytest.mark.slow  # a real extraction, training and server first

# the CLI in a process that reports whether torch was imported: the point of --server is its start-up cost
ASK = "import sys; from hierskp.cli import main; code = main(sys.argv[1:]); print('TORCH', 'torch' in sys.modules); sys.exit(code)"


def ask(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ASK, "search", *args], capture_output=True, text=True, timeout=120)


def test_search_through_a_server_matches_a_local_search_without_torch(library, tmp_path):
    proc, port = start_server(library, tmp_path / "state")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, port)
        remote = ask("--server", url, "--json", "-k", "3", "the surgeon closes the skin")
        assert remote.returncode == 0 and "TORCH False" in remote.stdout, remote.stdout + remote.stderr
        with urllib.request.urlopen(f"{url}/api/search?q=the+surgeon+closes+the+skin&k=3", timeout=60) as r:
            served = json.load(r)["hits"]
        hits = json.loads(remote.stdout.split("TORCH")[0])
        assert [h["video_id"] for h in hits] == [h["video_id"] for h in served] and len(hits) == 3
        assert hits == [{k: h[k] for k in ("video_id", "start", "end", "score")} for h in served]

        refused = ask("--server", url, "--window", "3", "--cache", str(library.cache), "skin")
        assert refused.returncode == 2 and "drop --cache, --window" in refused.stderr, refused.stderr
        bad_k = ask("--server", url, "-k", "1000", "skin")  # the server's bound, passed on in one line
        assert bad_k.returncode == 2 and "refused the query (422)" in bad_k.stderr, bad_k.stderr
    finally:
        stop(proc)
    gone = ask("--server", url, "skin")  # nothing listens any more: what to do instead
    assert gone.returncode == 2 and "no hierskp serve answers at" in gone.stderr and "TORCH False" in gone.stdout
    assert "--run and --cache" in gone.stderr and "Traceback" not in gone.stderr


def test_a_local_search_still_needs_run_and_cache(tmp_path):
    res = ask("skin")
    assert res.returncode == 2 and "--run and --cache are required (or --server URL" in res.stderr
