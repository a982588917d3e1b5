"""The named training configurations that ship with hierskp (package data): the anchors HecVL, PeskaVLP and
CLIP-style single level. `hierskp train --config hecvl` finds one by name, from any folder and any install;
a path to a YAML file works as well and wins when both exist. ablation/variants.yaml: the loss ablations."""

from __future__ import annotations

from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent
# the loss ablations of `python -m hierskp.experiments.ablation`
ABLATION_VARIANTS = CONFIGS_DIR / "ablation" / "variants.yaml"


def packaged_configs() -> list[str]:
    """Names of the packaged configurations, e.g. ['clip', 'hecvl', 'peskavlp']."""
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def resolve_config(name_or_path: str | Path) -> Path:
    """An existing file as given, else the packaged configuration of that name ('hecvl' or 'hecvl.yaml')."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    packaged = CONFIGS_DIR / f"{Path(str(name_or_path)).name.removesuffix('.yaml')}.yaml"
    if path.parent == Path(".") and packaged.is_file():
        return packaged
    raise FileNotFoundError(
        f"training config {str(name_or_path)!r}: no such file, and no packaged configuration of that name "
        f"(packaged: {', '.join(packaged_configs())})"
    )
