"""Hub ids as users load them: `hierskp extract --backbone org/name` against a populated Hugging Face cache
in the standard layout (models--org--name/{blobs,refs,snapshots/<rev>}), offline, with an optional pinned
revision; an id absent offline fails at once with one line saying how to fetch it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cache_schema import open_cache

REV = "3f1c0a2b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"


def populate_hub_cache(hub: Path, repo_id: str, model_dir: Path, revision: str = REV) -> Path:
    """Lay MODEL_DIR out as huggingface_hub does: content-addressed blobs, a snapshot of symlinks, refs/main."""
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for f in sorted(model_dir.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.write_bytes(data)
            link = snap / f.relative_to(model_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snap


@pytest.fixture(scope="module")
def hub_env(tmp_path_factory, embedded_twin):
    from hierskp.synth import generate_corpus

    root = tmp_path_factory.mktemp("hub")
    populate_hub_cache(root / "hf" / "hub", "surg-lab/vit-tiny", embedded_twin)
    manifest = generate_corpus(root / "corpus", n_videos=1, seed=5, config="tiny", progress=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env |= {"HF_HOME": str(root / "hf"), "HF_HUB_OFFLINE": "1", "HIERSKP_HOME": str(root / "home")}
    return root, manifest, env


def _extract(hub_env, cache: str, *extra: str) -> subprocess.CompletedProcess:
    root, manifest, env = hub_env
    cmd = [sys.executable, "-m", "hierskp", "extract", "--manifest", str(manifest), "--cache", str(root / cache)]
    return subprocess.run([*cmd, "--no-progress", *extra], env=env, capture_output=True, text=True, timeout=180)


def test_hub_id_loads_offline_and_records_its_revision(hub_env):
    proc = _extract(hub_env, "a.zarr", "--backbone", "surg-lab/vit-tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    vision = open_cache(str(hub_env[0] / "a.zarr"), "r").info["backbone"]
    assert vision["model"] == "surg-lab/vit-tiny" and vision["revision"] == REV
    assert Path(vision["resolved_path"]).parts[-2:] == ("snapshots", REV)

    pinned = _extract(hub_env, "b.zarr", "--backbone", "surg-lab/vit-tiny", "--revision", REV)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    info = open_cache(str(hub_env[0] / "b.zarr"), "r").info
    assert (
        info["backbone"]["revision"] == REV
        and info["fingerprint_id"] == open_cache(str(hub_env[0] / "a.zarr"), "r").fingerprint_id
    )  # same weights: one cache identity whether the revision was pinned or not


@pytest.mark.parametrize(
    ("backbone", "revision", "fetch"),
    [
        ("surg-lab/absent", None, "hf download surg-lab/absent`"),
        ("surg-lab/vit-tiny", "0" * 40, f"hf download surg-lab/vit-tiny --revision {'0' * 40}`"),
    ],
)
def test_absent_offline_fails_fast_in_one_line(hub_env, backbone, revision, fetch):
    t0 = time.monotonic()
    proc = _extract(hub_env, "c.zarr", "--backbone", backbone, *(["--revision", revision] if revision else []))
    assert proc.returncode == 2 and time.monotonic() - t0 < 120
    out = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    assert backbone in out and "HF_HUB_OFFLINE=1" in out and fetch in out
    assert not (hub_env[0] / "c.zarr").exists()
