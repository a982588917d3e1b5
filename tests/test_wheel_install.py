"""A normal install works from any folder: the wheel (`pip wheel --no-deps`) installed WITHOUT -e into a fresh
venv that reuses the locked dependencies, then synth -> extract -> train (a packaged config, by name) ->
evaluate -> search, run from a folder outside the checkout with nothing of the checkout on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        work,
        env,
    )
    (wheel,) = wheels.glob("hierskp-*.whl")
    # a clean venv whose own site-packages holds only the wheel; the locked dependencies come from this
    # interpreter's site-packages through a .pth line (no editable finder of the checkout is processed there)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, env)
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env).strip())
    (site / "_locked_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)], work, env)

    code = "import hierskp.configs as c, flows, cache_schema; print(c.ABLATION_VARIANTS.is_file(), c.CONFIGS_DIR)"
    shipped, where = _run([str(py), "-c", code], work, env).split()
    assert shipped == "True" and Path(where).is_relative_to(site), where  # the installed copy, with its data
    hierskp = [str(venv / "bin" / "hierskp")]
    env["HIERSKP_HOME"] = str(tmp_path / "home")  # the embedded backbone is built on first use, here
    _run(
        [*hierskp, "synth", "--out", "corpus", "--videos", "5", "--preset", "tiny", "--seed", "3", "--no-progress"],
        work,
        env,
    )
    _run([*hierskp, "extract", "--manifest", "corpus/manifest.jsonl", "--cache", "c.zarr", "--no-progress"], work, env)
    small = ["--set", "max_steps=3", "--set", "data.batch_videos=2", "--set", "evaluate=false", "--no-progress"]
    _run([*hierskp, "train", "--cache", "c.zarr", "--out", "run", "--config", "hecvl", *small], work, env)
    _run([*hierskp, "evaluate", "--cache", "c.zarr", "--run", "run", "--out", "report", "--no-progress"], work, env)
    assert (work / "report" / "report.json").is_file()
    hits = _run(
        [*hierskp, "search", "closure", "--run", "run", "--cache", "c.zarr", "--level", "video", "--json"], work, env
    )
    assert '"video_id"' in hits
    assert not (REPO / "run").exists() and not list(REPO.glob("c.zarr"))
