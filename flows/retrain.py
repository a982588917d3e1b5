"""Flow `retrain` (deployment retrain/nightly): keep the served run current with the corpus.

1. diff the manifest against the cache (`hierskp.extract.corpus_diff`): new, changed, interrupted videos;
2. extract only those (skip everything when nothing changed and a current run exists);
3. train a candidate run, evaluate it on the held-out split;
4. re-score the CURRENT run on the same, today's held-out set (new videos may have joined it:
   comparing with its old numbers would compare two different tests);
5. promote the candidate only if it is not worse on every metric of the headline registry's promotion
   view (`hierskp.eval.report.headline.PROMOTION`, judged by `hierskp.runs.promotion.PromotionPolicy`);
   the decision, its reason and the metric that decided go to RUNS/decisions.jsonl, the run folder and
   an artifact.
Training warm-starts from the current run when the cache's backbone and the heads' shapes allow
(`init_from`, hierskp/train/warm.py), else from scratch; the artifact, the result and the new run's
config (`init_from`) say which, and why. After a promotion the new run's search index is built
(`flows.build_index.warm_search`), so the first query embeds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish
from flows.build_index import warm_search
from flows.evaluate import evaluate
from flows.extract_features import extract_features
from flows.failures import fails_with_reason
from flows.params import PipelineParams
from flows.train import train_hierskp
from flows.train import validate_params as train_params
from hierskp.eval.report.headline import PROMOTION
from hierskp.extract.corpus_diff import CorpusDiff, diff_corpus
from hierskp.numfmt import num
from hierskp.runs.promotion import Decision, PromotionPolicy, RunRegistry


@task(name="diff-corpus", cache_policy=NO_CACHE)
def corpus_changes(manifest: str, cache: str, storage_options: dict[str, Any] | None) -> CorpusDiff:
    return diff_corpus(manifest, cache, storage_options)


def promotion_policy(tolerance: float) -> PromotionPolicy:
    """Exactly the headline registry's promotion metrics (`hierskp.eval.report.headline.PROMOTION`)."""
    return PromotionPolicy(PROMOTION, tolerance)


@task(name="score-current-run", cache_policy=NO_CACHE, persist_result=False)
def score_current(cache: str, run: str, split: str) -> dict[str, Any] | None:
    """The current run's held-out retrieval on today's set (RUN/eval.json's form, not written: its
    folder is not touched); None if it cannot be scored (e.g. its heads do not fit this cache any more)."""
    from cache_schema import open_cache
    from hierskp.eval.tasks.retrieval import split_metrics
    from hierskp.runs.model import load_method

    try:
        store = open_cache(cache, mode="r")
        heads = split_metrics(store, load_method(store, run), split)
    except Exception as exc:  # noqa: BLE001 - recorded in the decision's reason instead
        print(f"current run {run} could not be scored: {type(exc).__name__}: {exc}")
        return None
    return heads.to_dict()


@task(name="choose-start", cache_policy=NO_CACHE, persist_result=False)
def choose_start(cache: str, out: str, current: str | None, config: str | None, overrides: list[str]) -> str | None:
    """The run to warm-start from (the current one, when its heads fit this training), or None."""
    from hierskp.train.warm import check_warm_start

    if current is None:
        print("training from scratch: no current run")
        return None
    refused = check_warm_start(train_params(cache, out, config, overrides), current)
    print(f"training from scratch: {refused}" if refused else f"warm start from the current run {current}")
    return None if refused else current


def _report(decision: Decision, diff: CorpusDiff, extracted: dict[str, Any] | None, start: str | None = None) -> None:
    verdict = "PROMOTED" if decision.promote else "kept current"
    lines = [
        f"# retrain: {verdict}",
        "",
        f"* reason: {decision.reason}",
        *([f"* decided by: `{decision.decided_by}`"] if decision.decided_by else []),
        f"* candidate: `{decision.candidate}`, current before: `{decision.incumbent}`",
        f"* corpus: {diff.render()}",
    ]
    if start:
        lines.append(f"* training: {start}")
    if extracted:
        lines.append(
            f"* extracted: {extracted['done']} done, {extracted['skipped']} skipped, {extracted['failed']} failed"
        )
    if decision.candidate_metrics:
        lines += ["", "| metric | candidate | current |", "|---|---:|---:|"]
        inc = decision.incumbent_metrics or {}
        lines += [f"| {k} | {num(v)} | {num(inc.get(k))} |" for k, v in sorted(decision.candidate_metrics.items())]
    publish("markdown", "\n".join(lines), key="retrain-decision", description=verdict)


@flow(name="retrain", log_prints=True)
@fails_with_reason
def retrain(
    params: PipelineParams,
    split: str = "test",
    tolerance: float = 0.0,
    force: bool = False,
    warm_start: bool = True,
) -> dict[str, Any]:
    """`tolerance`: how much lower (in metric units, R@1 in percent) a candidate may score and
    still count as "not worse"; `force`: retrain even when the corpus did not change; `warm_start`:
    start from the current run's heads when they fit (else, or when False, from scratch)."""
    if tolerance < 0:
        raise ValueError(f"retrain: tolerance must be >= 0, got {tolerance}")
    manifest, cache = params.manifest, params.cache
    if not Path(manifest).is_file():  # e.g. HIERSKP_MANIFEST unset when retrain/nightly was deployed
        raise ValueError(f"retrain: manifest {manifest!r} not found; check the deployment's parameters")
    registry = RunRegistry(params.runs)
    diff = corpus_changes(manifest, cache, params.storage_options)
    print(f"corpus vs cache: {diff.render()}")
    current = registry.current()
    if not diff.to_extract and current and not force:
        decision = registry.skip(f"no new or changed videos since the cache was last updated; {current} stays current")
        _report(decision, diff, None)
        return {"diff": diff.as_dict(), "extract": None, "decision": decision.as_dict()}
    extracted = None
    if diff.to_extract:
        extracted = extract_features(**params.extract_kwargs(), video_ids=list(diff.to_extract), fail_on_error=False)
    run_id = registry.new_run_id("retrain")
    out = str(registry.run_dir(run_id))
    current_dir = str(registry.run_dir(current)) if current and warm_start else None
    init = choose_start(cache, out, current_dir, params.train_config, list(params.overrides))
    start = f"warm start from `{init}`" if init else "from scratch"
    run_dir = train_hierskp(**params.train_kwargs(out, [f"init_from={init}"] if init else []))
    evaluate(cache=cache, run=run_dir, split=split)
    policy = promotion_policy(tolerance)
    candidate = policy.measure({"retrieval": json.loads((Path(run_dir) / "eval.json").read_text())["heads"]})
    scored = score_current(cache, str(registry.run_dir(current)), split) if current else None
    incumbent = None if scored is None else policy.measure({"retrieval": scored})
    decision = registry.decide(run_id, candidate, incumbent, policy=policy)
    print(f"{'promoted' if decision.promote else 'kept current'}: {decision.reason}")
    if decision.promote:  # the served run's search index is built now, not by the first user query
        warm_search(cache, run_dir)
    _report(decision, diff, extracted, start)
    return {
        "diff": diff.as_dict(),
        "extract": extracted,
        "run": run_dir,
        "start": {"init_from": init},
        "decision": decision.as_dict(),
    }
