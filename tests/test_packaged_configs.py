"""Named training configurations ship inside the package and resolve by name from any folder; a path still works."""

from __future__ import annotations

import pytest

from hierskp.configs import ABLATION_VARIANTS, CONFIGS_DIR, packaged_configs, resolve_config
from hierskp.train import load_config


def test_names_resolve_to_the_packaged_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nowhere near a checkout's configs/ folder
    assert packaged_configs() == ["clip", "hecvl", "peskavlp"]
    for name in packaged_configs():
        assert resolve_config(name) == resolve_config(f"{name}.yaml") == CONFIGS_DIR / f"{name}.yaml"
    assert CONFIGS_DIR.parent.name == "hierskp"
    assert not load_config("hecvl", cache="c", out="o").losses.dtw.enabled
    assert load_config("peskavlp", cache="c", out="o").losses.dtw.enabled


def test_a_path_wins_and_an_unknown_name_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hecvl.yaml").write_text("max_steps: 7\n")  # a user's own file of a packaged name
    assert load_config("hecvl.yaml", cache="c", out="o").max_steps == 7
    assert load_config(str(tmp_path / "hecvl.yaml"), cache="c", out="o").max_steps == 7
    assert load_config("hecvl", cache="c", out="o").max_steps != 7  # the bare name is the packaged one
    with pytest.raises(FileNotFoundError, match=r"'hecvll'.*packaged: clip, hecvl, peskavlp"):
        load_config("hecvll", cache="c", out="o")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_config(str(tmp_path / "sub" / "hecvl.yaml"), cache="c", out="o")


def test_ablation_variants_are_package_data_but_no_training_config():
    assert ABLATION_VARIANTS.is_file() and ABLATION_VARIANTS.is_relative_to(CONFIGS_DIR)
    assert "variants" not in packaged_configs()
    with pytest.raises(FileNotFoundError):
        load_config("variants", cache="c", out="o")
