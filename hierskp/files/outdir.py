"""Output folders: hierskp writes only into a folder that is new, empty, or one it wrote before.

A folder hierskp creates gets a marker file, ``.hierskp-output`` (JSON: kind, created_at, version),
so a later command recognises its own output and may update it; a non-empty folder without the
marker holds someone else's files and is refused with a message saying how to proceed (another
folder, or ``--force`` where the command offers it). Folders written before the marker existed
are recognised by a file only that kind of output has (`legacy`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

MARKER = ".hierskp-output"


class OutputFolderNotOurs(FileExistsError):
    """A non-empty folder that hierskp did not create: writing there could destroy the user's files."""


def marker_kind(path: Path) -> str | None:
    try:
        return str(json.loads((path / MARKER).read_text()).get("kind"))
    except (OSError, ValueError, AttributeError):
        return None


def claim_output_dir(
    path: str | os.PathLike, kind: str, legacy: tuple[str, ...] = (), force: bool = False, hint: str = ""
) -> Path:
    """Create `path` (or accept it: empty, marked as a `kind` output, or holding one of the `legacy`
    files) and mark it; else raise OutputFolderNotOurs, unless `force`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputFolderNotOurs(f"{out}: exists and is not a folder; choose another output folder")
    ours = marker_kind(out) == kind or any((out / name).exists() for name in legacy)
    if out.is_dir() and not ours and not force and any(out.iterdir()):
        other = marker_kind(out)
        what = f"a hierskp {other} output" if other else "files hierskp did not write"
        raise OutputFolderNotOurs(
            f"{out}: the folder is not empty and holds {what}; refusing to write a {kind} there "
            f"(choose a new or empty folder{hint})"
        )
    out.mkdir(parents=True, exist_ok=True)
    if marker_kind(out) != kind:
        import hierskp

        info = {"kind": kind, "created_at": dt.datetime.now(dt.UTC).isoformat(), "version": hierskp.__version__}
        (out / MARKER).write_text(json.dumps(info) + "\n")
    return out
