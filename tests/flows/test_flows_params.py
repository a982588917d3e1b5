"""Fail-fast parameter checks, the corpus diff, and deploy/prefect.yaml's consistency."""

from __future__ import annotations

import importlib
import shutil

import pytest
import yaml

from hierskp.extract.corpus_diff import diff_corpus

from .conftest import REPO


@pytest.mark.parametrize(
    "change, message",
    [
        ({"manifest": "/nonexistent/manifest.jsonl"}, "manifest file not found"),
        ({"extraction": {"fps": 0}}, "fps"),
        ({"extraction": {"fsp": 2}}, "fsp"),
        ({"runner": {"max_workers": 0}}, "max_workers"),
        ({"video_ids": ["nope"]}, "video_id: not in the manifest"),
        ({"runner": {"dask_cluster_kwargs": {"n_workers": 2}}}, "dask_cluster_kwargs only applies"),
    ],
)
def test_bad_parameters_are_rejected_before_any_work(flow_corpus, tmp_path, change, message):
    from flows.extract_features import validate_params

    params = {"manifest": str(flow_corpus), "cache": str(tmp_path / "c.zarr"), **change}
    with pytest.raises(ValueError, match=message):
        validate_params(**params)
    assert not (tmp_path / "c.zarr").exists()


def test_corpus_diff_finds_new_changed_and_missing(reference_cache, flow_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(flow_corpus.parent, corpus)
    manifest = corpus / "manifest.jsonl"
    assert len(diff_corpus(manifest, str(tmp_path / "absent.zarr")).new) == 3
    cache = tmp_path / "cache.zarr"
    shutil.copytree(reference_cache["cache"], cache)
    same = diff_corpus(manifest, str(cache))
    assert len(same.up_to_date) == 3 and not same.to_extract
    videos = sorted((corpus / "videos").iterdir())
    with videos[0].open("ab") as fh:  # new content (hash), same name
        fh.write(b"\0")
    videos[1].unlink()
    diff = diff_corpus(manifest, str(cache))
    assert len(diff.changed) == 1 and len(diff.missing_file) == 1 and len(diff.up_to_date) == 1
    assert set(diff.to_extract) == set(diff.changed) | set(diff.missing_file)


def test_prefect_yaml_names_the_flows_it_deploys():
    spec = yaml.safe_load((REPO / "deploy" / "prefect.yaml").read_text())
    names = set()
    for dep in spec["deployments"]:
        path, func = dep["entrypoint"].split(":")
        assert (REPO / path).is_file()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        names.add(f"{getattr(module, func).name}/{dep['name']}")
        assert dep["work_pool"]["name"] == "hierskp-process"
    assert names == {"extract-features/local", "train-hierskp/local", "hierskp-pipeline/local", "retrain/nightly"}
    nightly = next(d for d in spec["deployments"] if d["name"] == "nightly")
    assert nightly["schedules"][0]["cron"] and nightly["concurrency_limit"] == 1
    assert "set_working_directory" in str(spec["pull"])


def test_library_modules_do_not_import_prefect():
    for name in ("runs/promotion.py", "extract/corpus_diff.py"):  # all of the library: tests/test_architecture.py
        text = (REPO / "hierskp" / name).read_text()
        assert "import prefect" not in text and "from prefect" not in text, name


def test_pipeline_and_retrain_share_one_parameter_model(monkeypatch):
    from prefect.exceptions import ParameterTypeError
    from prefect.utilities.templating import apply_values

    from flows.params import PipelineParams
    from flows.pipeline import hierskp_pipeline
    from flows.retrain import retrain

    nightly = next(
        d
        for d in yaml.safe_load((REPO / "deploy" / "prefect.yaml").read_text())["deployments"]
        if d["name"] == "nightly"
    )
    for k in ("manifest", "cache", "runs"):
        monkeypatch.setenv(f"HIERSKP_{k.upper()}", f"/data/{k}")
    given = apply_values(nightly["parameters"], {}, remove_notset=False)  # as `prefect deploy` fills them in
    for flow in (hierskp_pipeline, retrain):
        checked = flow.validate_parameters(given)["params"]
        assert isinstance(checked, PipelineParams) and checked.runs == "/data/runs" and checked.max_steps is None
        with pytest.raises(ParameterTypeError, match="max_steps"):
            flow.validate_parameters({"params": {**given["params"], "max_steps": 0}})
    assert PipelineParams(manifest="m", cache="c", overrides=["a=1"]).train_kwargs("RUN", ["b=2"])["overrides"] == [
        "a=1",
        "b=2",
    ]
