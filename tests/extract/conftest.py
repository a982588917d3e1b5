"""A tiny real corpus (H.264 files written by the synth generator) shared by the extraction tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hierskp", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    from hierskp.synth import generate_corpus

    generate_corpus(out, n_videos=4, seed=3, config="tiny", progress=False)
    return out


@pytest.fixture()
def corpus_copy(tiny_corpus, tmp_path) -> Path:
    """A private copy, so a test may add broken files or edit the manifest."""
    dst = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, dst)
    return dst


@pytest.fixture(scope="session")
def embedded_twin(tmp_path_factory) -> Path:
    """The embedded architecture with other weights: a real second backbone loaded from a local path."""
    import dataclasses

    from hierskp.backbones.embedded import EMBEDDED_SPEC, write_embedded_backbone

    target = tmp_path_factory.mktemp("twin") / "embedded-twin"
    return write_embedded_backbone(target, dataclasses.replace(EMBEDDED_SPEC, seed=EMBEDDED_SPEC.seed + 1))
