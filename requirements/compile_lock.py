"""Regenerate requirements/lock-cpu.txt: `make lock` (run it after any dependency change in pyproject.toml).

pip resolves `-e .[test]` together with the CPU torch pin, as `make install` would on a fresh machine,
without installing anything (`pip install --dry-run --report`); the exact versions it picks are
written, one `name==version` per line. `make install` then installs exactly these, so every fresh
install and CI run gets the versions the tests passed with, until the lock is regenerated.
Never in the lock: hierskp itself (installed editable, without deps), CUDA wheels (nvidia-*,
triton) and torchvision (its registry build breaks a CPU torch); the script fails if pip would
resolve one of them, since that means an unpinned torch or a CUDA extra crept in.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"
REFUSED = re.compile(r"^(nvidia-.*|triton|torchvision)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(extras: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed"]
        cmd += ["--report", str(report), f"{REPO}[{extras}]", TORCH]
        subprocess.run(cmd, check=True)
        items = json.loads(report.read_text())["install"]
    return {_canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "requirements" / "lock-cpu.txt"), help="lock file to write")
    parser.add_argument("--extras", default="test", help="extras of hierskp to include (default: test)")
    args = parser.parse_args()
    versions = resolve(args.extras)
    versions.pop("hierskp", None)
    refused = sorted(n for n in versions if REFUSED.match(n))
    if refused:
        print(f"compile_lock: refusing to lock CUDA/torchvision packages: {refused}", file=sys.stderr)
        return 1
    versions["torch"] = TORCH.split("==")[1]  # the local "+cpu" label stays out: ==2.13.0 matches it
    lines = [
        "# Exact versions of a CPU install of hierskp[test] (what CI passes with). Do not edit:",
        "# regenerate with `make lock` (requirements/compile_lock.py) after changing dependencies.",
        f"# python {sys.version_info.major}.{sys.version_info.minor}; torch is installed first (make install).",
        *(f"{name}=={version}" for name, version in sorted(versions.items())),
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}: {len(versions)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
