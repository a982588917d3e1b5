"""Stage 1 over a whole manifest, with a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from cache_schema import open_cache
from hierskp.ingest.manifest import Manifest, ManifestError, ManifestRow
from hierskp.numfmt import num

from .config import ExtractConfig
from .context import open_extraction
from .video_job import VideoOutcome, extract_video


@dataclass
class ExtractSummary:
    outcomes: list[VideoOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0

    def ids(self, status: str) -> list[str]:
        return [o.video_id for o in self.outcomes if o.status == status]

    @property
    def sampled_frames(self) -> int:
        return sum(o.n_frames for o in self.outcomes if o.status == "done")

    @property
    def frames_per_second(self) -> float:
        return self.sampled_frames / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.ids("failed")

    @classmethod
    def of(cls, outcomes: list[dict[str, Any]], wall_seconds: float) -> ExtractSummary:
        """From outcome dicts (`VideoOutcome.as_dict()`, as the flow's tasks return them)."""
        return cls([VideoOutcome(**o) for o in sorted(outcomes, key=lambda o: o["video_id"])], wall_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": len(self.ids("done")),
            "skipped": len(self.ids("skipped")),
            "failed": len(self.ids("failed")),
            "sampled_frames": self.sampled_frames,
            "wall_seconds": round(self.wall_seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
            "errors": {o.video_id: o.error for o in self.outcomes if o.status == "failed"},
        }

    def render(self) -> str:
        d = self.as_dict()
        lines = [
            f"extract: {d['done']} done, {d['skipped']} skipped, {d['failed']} failed; "
            f"{d['sampled_frames']} frames in {num(d['wall_seconds'])}s ({num(d['frames_per_second'])} sampled frames/s)"
        ]
        lines += [f"  FAILED {vid}: {err}" for vid, err in d["errors"].items()]
        return "\n".join(lines)


def _tell_waiting(outcome: VideoOutcome, told: dict[str, str]) -> None:
    """Say once per holder which video waits for whom, and until when (never a silent stall)."""
    owner = (outcome.error or "").split(" until ")[0]
    if told.get(outcome.video_id) != owner:
        told[outcome.video_id] = owner
        tqdm.write(
            f"extract: waiting for video {outcome.video_id!r}: {outcome.error}; a writer that died on this host "
            "is taken over at once, one elsewhere when its lease ends",
            file=sys.stderr,
        )


def select_rows(manifest: Manifest, video_ids: tuple[str, ...] | list[str] | None) -> list[ManifestRow]:
    """The manifest rows of `video_ids` (all rows when None); an id the manifest lacks is an error."""
    unknown = sorted(set(video_ids or ()) - {r.entry.video_id for r in manifest.rows})
    if unknown:
        raise ManifestError(manifest.path, [f"field video_id: not in the manifest (value {v!r})" for v in unknown])
    return [r for r in manifest.rows if video_ids is None or r.entry.video_id in video_ids]


def extract_manifest(
    cfg: ExtractConfig, progress: bool = True, on_outcome: Callable[[VideoOutcome], None] | None = None
) -> ExtractSummary:
    """Extract every (selected) manifest video; failures are collected, never raised."""
    t0 = time.perf_counter()
    ctx = open_extraction(cfg)
    rows = select_rows(ctx.manifest, cfg.video_ids)
    summary = ExtractSummary()
    bar = tqdm(rows, desc="extract", unit="video", disable=not progress)
    busy, told = [], {}
    for row in bar:
        outcome = extract_video(row, ctx, wait=False)
        if outcome.status == "busy":  # another writer holds it: come back once the others are done
            busy.append(row)
            _tell_waiting(outcome, told)
            continue
        summary.outcomes.append(outcome)
        bar.set_postfix(failed=len(summary.ids("failed")), frames=summary.sampled_frames)
        if on_outcome:
            on_outcome(outcome)
    while busy:  # until each is complete (by whoever) or its holder's lease expires and we take over
        time.sleep(cfg.claim_poll_s)
        still = []
        for row in busy:
            outcome = extract_video(row, ctx, wait=False)
            if outcome.status == "busy":
                still.append(row)
                _tell_waiting(outcome, told)
                continue
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        busy = still
    order = {r.entry.video_id: i for i, r in enumerate(rows)}
    summary.outcomes.sort(key=lambda o: order[o.video_id])
    ctx.store.consolidate()
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def consolidate_cache(cfg: ExtractConfig) -> None:
    """Refresh the cache's consolidated metadata (for xarray); the end of every extraction run."""
    open_cache(cfg.cache, mode="a", storage_options=cfg.storage_options).consolidate()
