"""Issue 20, classes 3 and 4: claims of dead owners, reserved ids at the store, claims outside zarr's walk."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import pytest
import zarr

import cache_schema as cs
from cache_schema.claims import holder, try_claim
from tests.fixtures.synthetic_cache import make_synthetic_cache

CLAIM_AND_DIE = """
import os, sys
import cache_schema as cs
from cache_schema.claims import try_claim
claim = try_claim(cs.open_cache(sys.argv[1], "a").root, "v0", lease_s=600)
assert claim is not None
os._exit(0)  # dies holding the claim, as after SIGKILL
"""


def test_a_dead_owner_on_this_host_is_taken_over_at_once(tmp_path):
    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=1, vision_dim=4, text_dim=4)
    subprocess.run([sys.executable, "-c", CLAIM_AND_DIE, store.url], check=True, timeout=60)
    assert holder(store.root, "v0") is None  # its lease runs 600 s more, but the owner is gone
    t0 = time.monotonic()
    claim = try_claim(store.root, "v0", lease_s=600)
    assert claim is not None and claim.generation == 2 and time.monotonic() - t0 < 5
    rec = holder(store.root, "v0")
    assert rec["pid"] > 0 and rec["host"] and rec["pid_start"]  # who holds it, identifiably
    claim.release()


def test_claims_stay_outside_what_zarr_walks_and_reserved_ids_cannot_be_claimed(tmp_path):
    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=2, vision_dim=4, text_dim=4)
    for vid in store.video_ids():
        try_claim(store.root, vid).release()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Object at _claims/... is not recognized" would raise
        list(zarr.open_group(store.url, mode="r").members(max_depth=None))
        store.consolidate()
    assert cs.validate_cache(cs.open_cache(store.url)).ok
    with pytest.raises(ValueError, match="uses or reserves for itself"):
        try_claim(store.root, "zarr.json")


def test_waiting_for_a_live_owner_says_who_and_until_when(tmp_path, capsys):
    from hierskp.extract import ExtractConfig
    from hierskp.extract.context import open_extraction
    from hierskp.extract.run import _tell_waiting
    from hierskp.extract.video_job import extract_video
    from hierskp.synth import generate_corpus

    manifest = generate_corpus(tmp_path / "corpus", 1, seed=1, config="tiny", progress=False)
    ctx = open_extraction(ExtractConfig(manifest=manifest, cache=str(tmp_path / "c.zarr"), isolate_decoder=False))
    (row,) = ctx.manifest.rows
    claim = try_claim(ctx.store.root, row.entry.video_id, lease_s=30)  # a live writer: this process
    outcome = extract_video(row, ctx, wait=False)
    claim.release()
    assert outcome.status == "busy"
    _tell_waiting(outcome, told := {})
    _tell_waiting(outcome, told)  # said once per holder, not once per poll
    err = capsys.readouterr().err
    assert err.count("waiting for video") == 1
    assert f"waiting for video {row.entry.video_id!r}: claimed by " in err and " until " in err and " UTC" in err
