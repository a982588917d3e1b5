"""`hierskp extract` on the demo preset prints no library warning: a user can do nothing about them, and
112 of them (one per video) buried the flow logs of `make demo`. Warnings are shown with Python's
`default` filter (DeprecationWarnings too), stricter than what a user sees."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

WARNING = re.compile(r"\b\w*Warning: ")
CLAIM = "is not recognized as a component of a Zarr hierarchy"


@pytest.fixture(scope="module")
def extract_output(tmp_path_factory) -> str:
    from hierskp.synth import generate_corpus
    from hierskp.synth.config import get_config

    root = tmp_path_factory.mktemp("quiet")
    cfg = get_config("demo", min_duration=12.0, max_duration=16.0)  # the demo's frames and codec, shorter
    manifest = generate_corpus(root / "corpus", n_videos=2, seed=0, config=cfg, progress=False)
    env = os.environ | {"PYTHONWARNINGS": "default"}
    cmd = [sys.executable, "-m", "hierskp", "extract", "--manifest", str(manifest), "--cache", str(root / "c.zarr")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 done" in proc.stdout
    return proc.stdout + proc.stderr


def test_extract_prints_no_library_warning(extract_output):
    warnings = [line for line in extract_output.splitlines() if WARNING.search(line) and CLAIM not in line]
    assert warnings == [], "\n".join(warnings)


# The claim folders once sat inside the Zarr hierarchy and made zarr warn once per video (`_claims` is now
# an empty array node that zarr never walks into).
def test_extract_prints_no_claim_folder_warning(extract_output):
    claims = [line for line in extract_output.splitlines() if CLAIM in line]
    assert len(claims) == 0, f"{len(claims)} ZarrUserWarning(s) about claim folders"
