"""Extract one manifest video into the cache: decode -> frozen vision encoder -> Zarr, texts too.

The completion marker is written last; on any failure the video's partial group is removed and
the error, naming the manifest line and the file, is returned instead of raised, so a batch goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

import hierskp
from cache_schema import CacheStore, validate_video
from cache_schema.claims import Claim, describe_holder, owner_name, try_claim
from cache_schema.claims import holder as claim_holder
from hierskp.ingest.manifest import ManifestPathError, ManifestRow
from hierskp.video import IsolatedFrameReader, VideoDecodeError, iter_frame_batches

from .captions import embed_alt_captions
from .context import ExtractionContext
from .prefetch import prefetch
from .source import annotations_hash, file_identity, relpath_or_str, same_source

log = logging.getLogger(__name__)
# done: this process left it complete; skipped: complete and up to date, written earlier or by another
# writer; failed: this process gave up on it; busy (only with wait=False): another writer holds its claim.
Status = Literal["done", "skipped", "failed", "busy"]


class VideoInputError(ValueError):
    """The manifest row disagrees with the video file (e.g. annotation times past its end)."""


@dataclass
class VideoOutcome:
    video_id: str
    status: Status
    n_frames: int = 0
    seconds: float = 0.0
    decoder: str | None = None
    error: str | None = None
    retryable: bool = False  # False when a retry cannot help: bad file, bad annotation
    frames_reused: bool = False  # True when only texts/annotations changed and the frames were kept

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Freshness = Literal["up_to_date", "texts_changed", "redo"]


def freshness(
    store: CacheStore,
    row: ManifestRow,
    source: dict[str, Any],
    state: tuple[str, dict[str, Any], Any] | None = None,
    deep: bool = False,
) -> Freshness:
    """What a cached video needs: nothing, new texts only (same backbone and video content), or a redo.

    `state` is `store.video_state(video_id)` when the caller already read it (one read per video).
    With `deep`, a complete video whose values fail their recorded checksums is redone.
    """
    status, prov, _ = state or store.video_state(row.entry.video_id)
    if status != "complete" or prov.get("fingerprint_id") != store.fingerprint_id:
        return "redo"
    if not same_source(prov.get("source"), source):
        return "redo"
    if deep and validate_video(store, row.entry.video_id, deep=True).problems:
        log.warning("%s: cached values fail their checksums: redone", row.where())
        return "redo"
    same_texts = prov.get("annotations_hash") == annotations_hash(row.entry.annotations())
    return "up_to_date" if same_texts else "texts_changed"


def is_up_to_date(store: CacheStore, row: ManifestRow, source: dict[str, Any]) -> bool:
    """Complete, same backbone fingerprint, same video content, same annotations: nothing to do."""
    return freshness(store, row, source) == "up_to_date"


def _embed_texts(entry: Any, text: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Before any write: an encoder failure then costs no cached frames and no decode. The last item
    is the extra captions' embeddings per level (`texts`), None when the entry has none."""
    return (
        _encode_texts(text, [entry.text], text.dim),
        _encode_texts(text, [o.text for o in entry.operations], text.dim),
        _encode_texts(text, [n.text for n in entry.frames], text.dim),
        embed_alt_captions(entry, lambda texts: _encode_texts(text, texts, text.dim), text.dim),
    )


def _write_texts(writer: Any, entry: Any, texts: tuple[np.ndarray, np.ndarray, np.ndarray, Any]) -> None:
    writer.write_texts(*texts[:3])
    if texts[3] is not None:
        writer.write_alt_texts(texts[3])
    writer.write_annotation_arrays(
        np.array([[o.start, o.end] for o in entry.operations], dtype=np.float64).reshape(-1, 2),
        np.array([n.time for n in entry.frames], dtype=np.float64),
    )


def _check_times(row: ManifestRow, duration_s: float, fps: float) -> None:
    problems = row.entry.times_past(duration_s, tolerance=max(0.5, 1.0 / fps))
    if problems:
        raise VideoInputError(f"{row.where()}: " + "; ".join(problems))


def _update_texts(
    row: ManifestRow, ctx: ExtractionContext, t0: float, texts: tuple, marker: dict[str, Any], claim: Claim
) -> VideoOutcome:
    """A text-only manifest edit: re-embed texts and annotations, keep the decoded frames."""
    entry, store = row.entry, ctx.store
    ann = entry.annotations()
    writer = store.begin_annotation_update(entry.video_id, {"annotations_hash": annotations_hash(ann)}, ann)
    _write_texts(writer, entry, texts)
    keep = {k: marker.get(k) for k in ("seconds", "decoder", "fallback_reason", "decode_errors")}
    _check_claim(claim)
    n = writer.finalize({**keep, "writer": owner_name(), "texts_updated_at": dt.datetime.now(dt.UTC).isoformat()})
    return VideoOutcome(
        entry.video_id,
        "done",
        n_frames=n,
        seconds=time.perf_counter() - t0,
        decoder=marker.get("decoder"),
        frames_reused=True,
    )


def _encode_texts(text_encoder: Any, texts: list[str], dim: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    return text_encoder.encode(texts).float().cpu().numpy()


def _open_reader(path: Any, cfg: Any) -> Any:
    kw = {"fps": cfg.fps, "batch_size": cfg.batch_size, "short_side": cfg.short_side, "backend": cfg.decoder}
    if cfg.isolate_decoder:
        return IsolatedFrameReader(path, stall_timeout_s=cfg.stall_timeout_s, **kw)
    return iter_frame_batches(path, **kw)


class ClaimLost(RuntimeError):
    """Another writer took over this video (our lease expired); it is theirs now: touch nothing."""


def _check_claim(claim: Claim) -> None:
    if not claim.held():
        raise ClaimLost(f"lost the claim on {claim.video_id!r} to another writer")


def extract_video(row: ManifestRow, ctx: ExtractionContext, wait: bool = True) -> VideoOutcome:
    """Extract one video unless it is up to date. While another writer holds the video's claim the
    outcome is "busy" (`wait=False`) or this waits until that writer finishes or its lease expires."""
    while True:
        outcome = _attempt(row, ctx)
        if outcome.status != "busy" or not wait:
            return outcome
        time.sleep(ctx.config.claim_poll_s)


@dataclass
class _Held:
    """What the failure path must undo: the claim, the open reader, and whether this process began a group."""

    claim: Claim | None = None
    reader: Any = None
    began: bool = False


def _attempt(row: ManifestRow, ctx: ExtractionContext) -> VideoOutcome:
    entry, t0, held, failed = row.entry, time.perf_counter(), _Held(), False
    path = ctx.manifest.video_path(row)
    try:
        return _extract(row, ctx, held, path, t0)
    except ClaimLost as exc:
        log.warning("%s: %s", row.where(), exc)
        return VideoOutcome(entry.video_id, "busy", error=str(exc), retryable=True)
    except (VideoDecodeError, VideoInputError, ManifestPathError) as exc:
        msg, retryable = (f"{row.where()}: {exc}" if isinstance(exc, VideoDecodeError) else str(exc)), False
        failed = True
    except Exception as exc:  # noqa: BLE001 - one broken video never stops a batch; I/O may be transient
        log.exception("failure on %s", entry.video_id)
        msg, retryable, failed = f"{row.where()}: {type(exc).__name__}: {exc}", True, True
    finally:
        if held.reader is not None:
            held.reader.close()
        if held.claim is not None and not (failed and held.began):  # on a failure the cleanup below releases it
            held.claim.release()
    try:
        # a partial group never survives a failure; an older complete one is kept otherwise. Only a
        # group this process began, and only while it still holds the claim: never another's work.
        if held.began and held.claim is not None and held.claim.held():
            ctx.store.delete_video(entry.video_id)
    except Exception as exc:  # noqa: BLE001 - the group has no marker: the next run redoes it
        log.exception("cleanup of %s failed", entry.video_id)
        msg += f" (cleanup failed too: {exc}; the partial group is redone next run)"
    finally:
        if held.claim is not None:
            held.claim.release()
    return VideoOutcome(entry.video_id, "failed", seconds=time.perf_counter() - t0, error=msg, retryable=retryable)


def _extract(row: ManifestRow, ctx: ExtractionContext, held: _Held, path: Any, t0: float) -> VideoOutcome:
    """plan -> claimed_video -> (update the texts | write_video); `held` records what a failure must undo."""
    entry, cfg = row.entry, ctx.config
    source, state, fresh = plan(row, ctx, path)
    if fresh != "up_to_date":
        claimed = claimed_video(row, ctx, held, source)
        if claimed is None:
            rec = claim_holder(ctx.store.root, entry.video_id)
            who = describe_holder(rec) if rec else "another writer"
            return VideoOutcome(entry.video_id, "busy", error=f"claimed by {who}", retryable=True)
        state, fresh = claimed
    _, prov, marker = state
    if fresh == "up_to_date":
        return VideoOutcome(entry.video_id, "skipped", n_frames=int(marker["n_frames"]))
    assert held.claim is not None
    if fresh == "texts_changed":
        _check_times(row, float(prov.get("duration_s") or 0.0), cfg.fps)
        texts = _embed_texts(entry, ctx.text)
        held.began = True  # from here a failure leaves a partial group: remove it
        return _update_texts(row, ctx, t0, texts, marker, held.claim)
    return write_video(row, ctx, held, path, source, t0)


def plan(row: ManifestRow, ctx: ExtractionContext, path: Any) -> tuple[dict[str, Any], tuple, Freshness]:
    """The video file checked, its source identity, its state in the cache and how fresh that is."""
    manifest, store, entry = ctx.manifest, ctx.store, row.entry
    manifest.resolved_video_path(row, ctx.config.allow_outside_dataset)  # a symlink may not leave the dataset
    if not path.is_file():
        raise VideoInputError(f"{row.where()}: field video: file not found (value {entry.video!r} -> {path})")
    state = store.video_state(entry.video_id)
    source = {"path": relpath_or_str(path, manifest.root), **file_identity(path, state[1].get("source"))}
    return source, state, freshness(store, row, source, state, ctx.config.verify == "deep")


def claimed_video(
    row: ManifestRow, ctx: ExtractionContext, held: _Held, source: dict[str, Any]
) -> tuple[tuple, Freshness] | None:
    """Take the video's claim (None: another writer holds it) and read its state again under it."""
    held.claim = try_claim(ctx.store.root, row.entry.video_id, ctx.config.lease_s)
    if held.claim is None:
        return None
    state = ctx.store.video_state(row.entry.video_id)  # under the claim: another writer may have just finished
    return state, freshness(ctx.store, row, source, state, ctx.config.verify == "deep")


def write_video(
    row: ManifestRow, ctx: ExtractionContext, held: _Held, path: Any, source: dict[str, Any], t0: float
) -> VideoOutcome:
    """Decode, encode and write every frame and the texts, then commit the marker while the claim holds."""
    entry, cfg, claim = row.entry, ctx.config, held.claim
    assert claim is not None
    reader = held.reader = _open_reader(path, cfg)
    info = reader.info
    _check_times(row, reader.duration_s, cfg.fps)
    texts = _embed_texts(entry, ctx.text)
    ann = entry.annotations()
    _check_claim(claim)
    held.began = True
    provenance = {
        "source": source,
        "manifest": str(ctx.manifest.path.resolve()),  # named by the repair command of a damaged video
        "annotations_hash": annotations_hash(ann),
        "fps": cfg.fps,
        "short_side": cfg.short_side,
        "duration_s": reader.duration_s,
        "source_fps": info.avg_fps,
        "codec": info.codec,
        "code_version": hierskp.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    writer = ctx.store.begin_video(entry.video_id, provenance=provenance, annotations=ann)
    vision = ctx.vision
    for batch in prefetch(lambda: reader):  # decoding runs in the prefetch thread
        feats = vision.encode(batch.frames)
        writer.append_frames(feats.float().cpu().numpy(), batch.timestamps)
    _write_texts(writer, entry, texts)
    seconds = time.perf_counter() - t0
    # read after the loop: the decoder may have switched to PyAV mid-video
    stats = {
        "seconds": round(seconds, 3),
        "decoder": reader.backend,
        "fallback_reason": reader.fallback_reason,
        "decode_errors": reader.decode_errors,
        "writer": claim.owner,
    }
    _check_claim(claim)  # commit only while the video is still ours
    n = writer.finalize(stats)
    return VideoOutcome(entry.video_id, "done", n_frames=n, seconds=seconds, decoder=reader.backend)
