"""Warm start (`init_from=RUN`): a new run begins at a finished run's heads when they fit, and is refused,
naming why, before anything is written when they do not."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from hierskp.train import load_config, train
from hierskp.train.warm import WarmStartRefused, check_warm_start
from tests.fixtures.synthetic_cache import make_synthetic_cache

from .conftest import FAST


def _heads(run) -> dict[str, torch.Tensor]:  # noqa: ANN001
    return load_file(str(run / "final" / "heads.safetensors"))


def _distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return float(sum((a[k].float() - b[k].float()).norm() for k in a))


def test_warm_start_begins_at_the_runs_heads(trained_run, tiny_cache, tmp_path):
    def one_step(name: str, *extra: str):  # noqa: ANN202
        cfg = load_config(None, [*FAST, "max_steps=1", "evaluate=false", "seed=5", *extra], cache=tiny_cache,
                          out=str(tmp_path / name), progress=False)  # fmt: skip
        return train(cfg)

    warm = one_step("warm", f"init_from={trained_run}")
    cold = one_step("cold")
    base = _heads(trained_run)
    assert _distance(_heads(warm), base) < 0.05 * _distance(_heads(cold), base)  # one small step away from it
    assert check_warm_start(load_config(None, FAST, cache=tiny_cache, out=str(tmp_path / "x")), trained_run) is None


def test_warm_start_is_refused_when_shapes_or_features_differ(trained_run, tiny_cache, tmp_path):
    wider = load_config(None, [*FAST, "model.hidden_dim=64", f"init_from={trained_run}"], cache=tiny_cache,
                        out=str(tmp_path / "wider"), progress=False)  # fmt: skip
    with pytest.raises(WarmStartRefused, match="head shapes differ"):
        train(wider)
    assert not (tmp_path / "wider" / "config.json").exists()  # refused before the run was written
    other = make_synthetic_cache(
        tmp_path / "other.zarr", n_videos=4, vision_dim=16, text_dim=24, fingerprint_id="other"
    )
    reason = check_warm_start(load_config(None, FAST, cache=other.url, out=str(tmp_path / "o")), trained_run)
    assert reason and "other" in reason and "backbone" in reason
    reason = check_warm_start(load_config(None, FAST, cache=tiny_cache, out=str(tmp_path / "n")), tmp_path / "nope")
    assert reason and "not a finished run" in reason
