"""Issue 20, class 5: the trained heads an answer depends on are checksummed and verified on load."""

from __future__ import annotations

import json
import re

import pytest

from hierskp.models.heads import HeadsDamaged
from hierskp.runs.model import load_run

from .conftest import hierskp_cli


def _flip(path, at: float = 0.6) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i : i + 8] = bytes(b ^ 0x5A for b in data[i : i + 8])
    path.write_bytes(bytes(data))


def test_flipped_bytes_are_refused_naming_file_hashes_and_the_repair(finished_run, tiny_cache):
    heads = finished_run / "final" / "heads.safetensors"
    assert len(json.loads((finished_run / "final" / "config.json").read_text())["heads_sha256"]) == 64
    _flip(heads)
    with pytest.raises(
        HeadsDamaged, match=r"heads\.safetensors: damaged trained heads \(sha256 [0-9a-f]+\.\.\., recorded"
    ):
        load_run(finished_run)
    res = hierskp_cli("search", "--run", str(finished_run), "--cache", tiny_cache, "incision")
    assert res.returncode == 2 and "damaged trained heads" in res.stderr and "Traceback" not in res.stderr
    repair = re.search(r"`(hierskp train [^`]+)`", res.stderr).group(1)
    fixed = hierskp_cli(*repair.split()[1:], "--no-progress")  # exactly the command the message names
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    load_run(finished_run)  # verified again, now intact


def test_truncated_heads_are_a_named_error_not_a_safetensor_traceback(finished_run):
    heads = finished_run / "final" / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:100])
    with pytest.raises(HeadsDamaged, match="heads.safetensors"):
        load_run(finished_run)
    meta_path = finished_run / "final" / "config.json"  # a run from before the checksum: still no raw error
    meta = json.loads(meta_path.read_text())
    del meta["heads_sha256"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(HeadsDamaged, match="unreadable trained heads"):
        load_run(finished_run)
