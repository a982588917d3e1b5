"""Flow `extract-features`: stage 1 (frozen backbone over videos -> Zarr cache), one task per video.

    prefect deployment run extract-features/local --param manifest=M --param cache=C --watch

Shape, and why:
* Parameters are two pydantic models (`ExtractOptions`, the same as `hierskp extract`'s options,
  and `RunnerOptions`) plus the paths: the deployment's schema carries their types, bounds and
  descriptions, so the server refuses e.g. fps=-1 before a flow run exists. The manifest and the
  ids are checked up front by the library's own checks, before any model is loaded.
* `prepare-cache` creates the cache root and checks the backbone fingerprint ONCE, before
  mapping; each mapped `extract-video` task then writes only its own video group, so two
  writers never touch the same Zarr chunk or shard (Zarr has no multi-key transactions).
* No Prefect result caching. The cache's completion markers (+ `is_up_to_date`: same
  backbone, same video content hash, same annotations) are the one record of what is done;
  an up-to-date video returns "skipped" after a stat. A Prefect cache would live in other
  storage and could claim "done" for a group that was deleted or rewritten since.
* Retries re-run a failed video from scratch (its partial group is removed on failure).
* The runner (threads, a Dask LocalCluster, or a Dask scheduler address) is chosen by
  parameter, so the same deployment scales out; see `flows/runners.py` for the limits.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from prefect import flow, get_client, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from pydantic import Field, ValidationError

from flows.artifacts import Progress, publish
from flows.failures import fails_with_reason
from flows.gpu import gpu_slot
from flows.runners import EXTRACT_TAG, RunnerOptions
from hierskp.extract import (
    ExtractConfig,
    ExtractOptions,
    ExtractSummary,
    VideoOutcome,
    consolidate_cache,
    extract_video,
    open_extraction,
    select_rows,
)
from hierskp.ingest.manifest import Manifest, ManifestError, ManifestRow, load_manifest
from hierskp.numfmt import num


class VideoFailed(RuntimeError):
    """Raised by a task for a failed video, so Prefect retries it and shows it red."""

    def __init__(self, outcome: dict[str, Any]):
        self.outcome = outcome
        super().__init__(outcome.get("error") or f"{outcome.get('video_id')}: failed")

    def __reduce__(self):  # crosses Dask process boundaries intact
        return (VideoFailed, (self.outcome,))


def _worth_retrying(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Retry I/O hiccups and crashes; a corrupt file or a bad annotation fails the same way again."""
    try:
        state.result()
    except VideoFailed as exc:
        return bool(exc.outcome.get("retryable"))
    except BaseException:  # noqa: BLE001
        return True
    return False


@task(name="prepare-cache", cache_policy=NO_CACHE)
def prepare_cache(cfg: ExtractConfig) -> dict[str, Any]:
    """Create the cache root (or check its fingerprint) before any video task starts."""
    ctx = open_extraction(cfg)
    return {"url": ctx.store.url, "fingerprint_id": ctx.store.fingerprint_id}


@task(
    name="extract-video",
    task_run_name="extract-{row.entry.video_id}",
    tags=[EXTRACT_TAG],
    retries=1,
    retry_delay_seconds=5,
    retry_condition_fn=_worth_retrying,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def extract_one(cfg: ExtractConfig, row: ManifestRow) -> dict[str, Any]:
    """One video. Encoders come from the process-wide cache in `open_extraction`; the store
    is opened per task (cheap) so a long-lived Dask worker never writes through a stale handle."""
    ctx = open_extraction(cfg, manifest=Manifest(path=row.path, rows=(row,)))
    outcome = extract_video(row, ctx).as_dict()
    get_run_logger().info(
        "%s: %s (%d frames, %.1fs)", row.entry.video_id, outcome["status"], outcome["n_frames"], outcome["seconds"]
    )
    if outcome["status"] == "failed":
        raise VideoFailed(outcome)
    return outcome


def _outcome_of(result: Any, video_id: str) -> dict[str, Any]:
    if isinstance(result, VideoFailed):
        return result.outcome
    if isinstance(result, BaseException):  # crashed worker, cache unreachable, ...
        return VideoOutcome(video_id, "failed", error=f"{type(result).__name__}: {result}").as_dict()
    return result


def _summarise(summary: ExtractSummary, cache: dict[str, Any], runner: str) -> dict[str, Any]:
    """The library's summary plus where it ran; `outcomes` per video (dicts, sorted by id)."""
    return {
        **summary.as_dict(),
        "cache": cache["url"],
        "fingerprint_id": cache["fingerprint_id"],
        "runner": runner,
        "outcomes": [o.as_dict() for o in summary.outcomes],
    }


def _report(summary: dict[str, Any]) -> None:
    """The outcome table and the summary, on the launched run (`publish`)."""
    publish(
        "table",
        [
            {
                "video_id": o["video_id"],
                "status": o["status"],
                "frames": o["n_frames"],
                "seconds": num(o["seconds"]),
                "decoder": o["decoder"],
                "error": o["error"],
            }
            for o in summary["outcomes"]
        ],
        key="extract-outcomes",
        description="per-video outcome",
    )
    lines = [
        f"# extract-features: {summary['done']} done, {summary['skipped']} skipped, {summary['failed']} failed",
        "",
        f"* cache: `{summary['cache']}` (fingerprint `{summary['fingerprint_id']}`)",
        f"* runner: {summary['runner']}",
        f"* extracted frames: {num(summary['sampled_frames'])} in {num(summary['wall_seconds'])} s "
        f"({num(summary['frames_per_second'])} sampled frames/s)",
    ]
    lines += [f"* FAILED `{vid}`: {err}" for vid, err in summary["errors"].items()]
    publish("markdown", "\n".join(lines), key="extract-summary", description="extraction summary")


@flow(name="extract-videos", log_prints=True)
@fails_with_reason
def extract_videos(cfg: ExtractConfig, runner: str = "threads", retries: int = 1) -> dict[str, Any]:
    """The mapped part; runs as a subflow so its task runner can be chosen per run."""
    t0 = time.perf_counter()
    rows = select_rows(load_manifest(cfg.manifest, allow_overlap=cfg.allow_overlapping_operations), cfg.video_ids)
    cache = prepare_cache.submit(cfg).result()
    progress = Progress(key="extract-progress", description=f"{len(rows)} video(s)")
    outcomes: list[dict[str, Any]] = []
    with gpu_slot():  # the encoders' work: one GPU job at a time (flows/gpu.py)
        futures = {
            f: r.entry.video_id
            for f, r in zip(extract_one.with_options(retries=retries).map(unmapped(cfg), rows), rows)
        }
        for fut in as_completed(list(futures)):
            outcomes.append(_outcome_of(fut.result(raise_on_failure=False), futures[fut]))
            progress.update(100.0 * len(outcomes) / len(rows))
    progress.update(100.0)
    consolidate_cache(cfg)
    summary = _summarise(ExtractSummary.of(outcomes, time.perf_counter() - t0), cache, runner)
    _report(summary)
    return summary


def validate_params(
    manifest: str,
    cache: str,
    extraction: ExtractOptions | None = None,
    video_ids: list[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    runner: RunnerOptions | dict[str, Any] | None = None,
) -> tuple[ExtractConfig, RunnerOptions]:
    """All parameter checks in one place (the library's own): raises ValueError naming every problem."""
    try:
        opts = RunnerOptions.model_validate(runner or {})
        cfg = ExtractConfig.of(
            manifest,
            cache,
            ExtractOptions.model_validate(extraction or {}),
            video_ids=tuple(video_ids) if video_ids is not None else None,
            storage_options=storage_options,
        )
        select_rows(load_manifest(cfg.manifest, allow_overlap=cfg.allow_overlapping_operations), cfg.video_ids)
    except (ValidationError, ManifestError) as exc:
        raise ValueError(f"extract-features: invalid parameters: {exc}") from None
    return cfg, opts


@flow(name="extract-features", log_prints=True)
@fails_with_reason
def extract_features(
    manifest: Annotated[str, Field(min_length=1)],
    cache: Annotated[str, Field(min_length=1)],
    extraction: ExtractOptions = ExtractOptions(),
    video_ids: list[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    runner: RunnerOptions = RunnerOptions(),
    retries: Annotated[int, Field(ge=0, le=10)] = 1,
    fail_on_error: bool = True,
) -> dict[str, Any]:
    """Extract a manifest's videos into the cache; fails (after finishing the others) if any failed.

    Args:
        manifest: absolute path of the manifest.jsonl to extract
        cache: local path or fsspec URL (s3://...) of the Zarr cache
        extraction: backbones, sampling, batching and decoding (the options of `hierskp extract`)
        video_ids: only these manifest ids (default: all)
        storage_options: fsspec options of the cache URL, e.g. {"endpoint_url": ...}; put credentials
            in the worker's environment (AWS_* variables), not here: parameters are stored and shown in the UI
        runner: where the per-video tasks run: threads in the flow process, or a Dask cluster
        retries: retries of a failed video (I/O errors and crashes only)
        fail_on_error: end the run Failed when a video failed (after the others finished)
    """
    cfg, opts = validate_params(manifest, cache, extraction, video_ids, storage_options, runner)
    print(
        f"extracting {len(cfg.video_ids) if cfg.video_ids is not None else 'all'} video(s) of {cfg.manifest} "
        f"into {cfg.cache} on {opts.describe()}"
    )
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    summary = extract_videos.with_options(task_runner=opts.build(api_url))(cfg, runner=opts.describe(), retries=retries)
    print(f"extract-features: {summary['done']} done, {summary['skipped']} skipped, {summary['failed']} failed")
    if summary["failed"] and fail_on_error:
        failed = sorted(summary["errors"])
        raise RuntimeError(f"extract-features: {len(failed)} video(s) failed: {failed} (see artifact extract-summary)")
    return summary


if __name__ == "__main__":
    import sys

    extract_features(manifest=sys.argv[1], cache=sys.argv[2])
