"""The process environment hierskp's offline entry points run under, said once.

    apply_offline_defaults()          # flows, the test suite: no hub downloads, no analytics
    env = {**os.environ, **OFFLINE}   # a child process (a Prefect worker, a server) that must be offline

Each variable is set only when the user has not set it (`HF_HUB_OFFLINE=0 make demo` is honoured), and
before transformers / huggingface_hub / Prefect are imported, which read some of them at import time.
The Makefile exports the same values for its targets, and the deployments in deploy/ for their workers
(tests/test_settings.py holds them to these).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

OFFLINE: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub: the local cache only (weights come with the image or the repo)
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no fork warning from the Rust tokenizers in worker processes
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
_TRUE = {"1", "true", "yes", "on"}


def apply_offline_defaults(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set every `OFFLINE` variable the environment does not already set."""
    for key, value in OFFLINE.items():
        environ.setdefault(key, value)


def hub_offline(environ: MutableMapping[str, str] = os.environ) -> bool:
    """True when the user asked for no network (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE), read at call time."""
    return any(environ.get(k, "").strip().lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
