"""The version is said once, in pyproject.toml: installed, it comes from the package metadata; in a
source tree that was never installed, from that tree's pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import hierskp

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_package_metadata():
    assert hierskp.__version__ == metadata.version("hierskp")
    assert hierskp.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_an_uninstalled_source_tree_reads_its_pyproject(tmp_path):
    (tmp_path / "hierskp").mkdir()
    shutil.copy(ROOT / "hierskp" / "__init__.py", tmp_path / "hierskp" / "__init__.py")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "hierskp"\nversion = "9.8.7"\n')
    code = "import sys; sys.path.insert(0, sys.argv[1]); import hierskp; print(hierskp.__version__)"
    # -S: no site-packages, so no installed hierskp distribution to read metadata from; cwd: not a checkout
    # whose hierskp.egg-info (an editable install's metadata) would be found through the "" entry of sys.path
    run = [sys.executable, "-I", "-S", "-c", code, str(tmp_path)]  # -I: no PYTHONPATH, no cwd on the path
    out = subprocess.run(run, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "9.8.7"
    (tmp_path / "pyproject.toml").unlink()
    out = subprocess.run(run, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "0+unknown"
