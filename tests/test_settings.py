"""The offline environment is said once (hierskp/settings.py); the files that cannot import it (the
Makefile, the deployments) hold the same values, and the flows and the test suite apply it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from hierskp.settings import OFFLINE, apply_offline_defaults, hub_offline

ROOT = Path(__file__).resolve().parents[1]
HUB = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def test_defaults_never_override_the_user():
    env = {"HF_HUB_OFFLINE": "0"}
    apply_offline_defaults(env)
    assert env == {**OFFLINE, "HF_HUB_OFFLINE": "0"}
    assert hub_offline(env)  # TRANSFORMERS_OFFLINE=1 still asks for no network
    assert not hub_offline({"HF_HUB_OFFLINE": "0"}) and hub_offline({"HF_HUB_OFFLINE": "yes"})


def _declared() -> dict[str, dict[str, str]]:
    """Every file outside Python that sets the offline variables: its name -> what it sets."""
    pool = yaml.safe_load((ROOT / "deploy/prefect.yaml").read_text())["definitions"]["work_pool"]
    docker = json.loads((ROOT / "deploy/docker-gpu.json").read_text())
    k8s = json.loads((ROOT / "deploy/k8s-gpu-job-template.json").read_text())
    make = dict(re.findall(r"^export (\w+) := (\S+)$", (ROOT / "Makefile").read_text(), re.M))
    env_line = next(x for x in (ROOT / "deploy/Dockerfile.gpu").read_text().splitlines() if x.startswith("ENV "))
    return {
        "deploy/prefect.yaml": pool["job_variables"]["env"],
        "deploy/docker-gpu.json": docker["variables"]["properties"]["env"]["default"],
        "deploy/k8s-gpu-job-template.json": k8s["variables"]["properties"]["env"]["default"],
        "Makefile": make,
        "deploy/Dockerfile.gpu": dict(kv.split("=", 1) for kv in env_line.split()[1:]),
    }


def test_files_that_cannot_import_the_settings_agree_with_them():
    for name, env in _declared().items():
        assert all(k in env for k in HUB), name
        differing = {k: v for k, v in env.items() if k in OFFLINE and v != OFFLINE[k]}
        assert differing == {}, name


def test_the_demo_flow_applies_the_settings():
    code = "import os, flows.demo, hierskp.settings as s; print(all(os.environ[k] == v for k, v in s.OFFLINE.items()))"
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
