"""Flow `extract-features`: stage 1 (frozen backbone over videos -> Zarr cache), one task per video.

    prefect deployment run extract-features/local --param manifest=M --param cache=C --watch

Shape, and why:
* Parameters are validated once, up front (`ExtractConfig`, the manifest, `RunnerOptions`):
  a bad one fails the run in a second, before any model is loaded.
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

from typing import Any, Literal

from prefect import flow, get_client, get_run_logger, task, unmapped
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from pydantic import ValidationError

from flows.runners import EXTRACT_TAG, RunnerOptions
from hierskp.data.manifest import Manifest, ManifestError, ManifestRow, load_manifest
from hierskp.extract import ExtractConfig, extract_video, open_extraction


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
        return {
            "video_id": video_id,
            "status": "failed",
            "n_frames": 0,
            "seconds": 0.0,
            "decoder": None,
            "error": f"{type(result).__name__}: {result}",
        }
    return result


def _summarise(outcomes: list[dict[str, Any]], cache: dict[str, Any], runner: str) -> dict[str, Any]:
    count = {s: sum(o["status"] == s for o in outcomes) for s in ("done", "skipped", "failed")}
    done = [o for o in outcomes if o["status"] == "done"]
    seconds = sum(o["seconds"] for o in done)
    return {
        **count,
        "cache": cache["url"],
        "fingerprint_id": cache["fingerprint_id"],
        "runner": runner,
        "frames": sum(o["n_frames"] for o in done),
        "video_seconds": round(seconds, 3),
        "mean_seconds_per_video": round(seconds / len(done), 3) if done else None,
        "outcomes": sorted(outcomes, key=lambda o: o["video_id"]),
    }


def _report(summary: dict[str, Any]) -> None:
    create_table_artifact(
        [
            {k: o[k] for k in ("video_id", "status", "n_frames", "seconds", "decoder", "error")}
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
        f"* extracted frames: {summary['frames']}; task time {summary['video_seconds']}s "
        f"(mean {summary['mean_seconds_per_video']}s per extracted video)",
    ]
    lines += [f"* FAILED `{o['video_id']}`: {o['error']}" for o in summary["outcomes"] if o["status"] == "failed"]
    create_markdown_artifact("\n".join(lines), key="extract-summary", description="extraction summary")


@flow(name="extract-videos", log_prints=True)
def extract_videos(cfg: ExtractConfig, runner: str = "threads", retries: int = 1) -> dict[str, Any]:
    """The mapped part; runs as a subflow so its task runner can be chosen per run."""
    rows = [r for r in load_manifest(cfg.manifest).rows if cfg.video_ids is None or r.entry.video_id in cfg.video_ids]
    cache = prepare_cache.submit(cfg).result()
    progress = create_progress_artifact(0.0, key="extract-progress", description=f"{len(rows)} video(s)")
    futures = {
        f: r.entry.video_id for f, r in zip(extract_one.with_options(retries=retries).map(unmapped(cfg), rows), rows)
    }
    outcomes: list[dict[str, Any]] = []
    for fut in as_completed(list(futures)):
        outcomes.append(_outcome_of(fut.result(raise_on_failure=False), futures[fut]))
        update_progress_artifact(progress, 100.0 * len(outcomes) / len(rows))
    if not rows:
        update_progress_artifact(progress, 100.0)
    summary = _summarise(outcomes, cache, runner)
    _report(summary)
    return summary


def validate_params(params: dict[str, Any]) -> tuple[ExtractConfig, RunnerOptions]:
    """All parameter checks in one place; raises ValueError naming every problem."""
    runner_keys = set(RunnerOptions.model_fields)
    try:
        opts = RunnerOptions(**{k: v for k, v in params.items() if k in runner_keys})
        cfg = ExtractConfig(**{k: v for k, v in params.items() if k not in runner_keys})
        manifest = load_manifest(cfg.manifest)
    except (ValidationError, ManifestError) as exc:
        raise ValueError(f"extract-features: invalid parameters: {exc}") from None
    unknown = sorted(set(cfg.video_ids or ()) - {r.entry.video_id for r in manifest.rows})
    if unknown:
        raise ValueError(f"extract-features: video_ids not in {cfg.manifest}: {unknown}")
    return cfg, opts


@flow(name="extract-features", log_prints=True)
def extract_features(
    manifest: str,
    cache: str,
    backbone: str = "embedded",
    text_backbone: str = "default",
    fps: float = 1.0,
    batch_size: int = 32,
    short_side: int | None = None,
    device: str = "auto",
    decoder: Literal["auto", "decord", "pyav"] = "auto",
    video_ids: list[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    max_workers: int = 2,
    dask_address: str | None = None,
    dask_cluster_kwargs: dict[str, Any] | None = None,
    retries: int = 1,
    fail_on_error: bool = True,
) -> dict[str, Any]:
    """Extract a manifest's videos into the cache; fails (after finishing the others) if any failed.

    Put object-store credentials in the worker's environment (AWS_* variables), not in
    `storage_options`: flow parameters are stored by the server and shown in the UI.
    """
    if not 0 <= retries <= 10:
        raise ValueError(f"extract-features: retries must be in 0..10, got {retries}")
    cfg, opts = validate_params(
        {
            "manifest": manifest,
            "cache": cache,
            "backbone": backbone,
            "text_backbone": text_backbone,
            "fps": fps,
            "batch_size": batch_size,
            "short_side": short_side,
            "device": device,
            "decoder": decoder,
            "video_ids": tuple(video_ids) if video_ids is not None else None,
            "storage_options": storage_options,
            "max_workers": max_workers,
            "dask_address": dask_address,
            "dask_cluster_kwargs": dask_cluster_kwargs,
        }
    )
    print(
        f"extracting {len(cfg.video_ids) if cfg.video_ids is not None else 'all'} video(s) of {cfg.manifest} "
        f"into {cfg.cache} on {opts.describe()}"
    )
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    summary = extract_videos.with_options(task_runner=opts.build(api_url))(cfg, runner=opts.describe(), retries=retries)
    print(f"extract-features: {summary['done']} done, {summary['skipped']} skipped, {summary['failed']} failed")
    if summary["failed"] and fail_on_error:
        failed = [o["video_id"] for o in summary["outcomes"] if o["status"] == "failed"]
        raise RuntimeError(f"extract-features: {len(failed)} video(s) failed: {failed} (see artifact extract-summary)")
    return summary


if __name__ == "__main__":
    import sys

    extract_features(manifest=sys.argv[1], cache=sys.argv[2])
