"""Export cached features in the layout ActionFormer-style localization codebases read.

npy:  OUT/<video_id>.npy              float32 [T, D], one file per video
      OUT/timestamps/<video_id>.npy   float64 [T], seconds of each feature row
hdf5: OUT/features.h5                 one dataset per video id, float32 [T, D], attr "timestamps";
                                      root attrs: fingerprint_id, backbone, backbone_json, fps, short_side
both: OUT/annotations.json            ActivityNet JSON with per-video duration, fps and label ids, and a
                                      "provenance" block (cache fingerprint, backbones, fps)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from hierskp.dataset.cache import CacheStore
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write


def _annotations(store: CacheStore, ids: list[str]) -> dict:
    labels = sorted({op["label"] for v in ids for op in store.read_video(v).annotations.get("operations", [])})
    label_id = {lab: i for i, lab in enumerate(labels)}
    database = {}
    for vid in ids:
        rec = store.read_video(vid)
        ann, prov = rec.annotations, rec.provenance
        database[vid] = {
            "subset": ann.get("split", "test"),
            "duration": prov.get("duration_s"),
            "fps": prov.get("fps"),
            "feature_frames": rec.n_frames,
            "annotations": [
                {"segment": [op["start"], op["end"]], "label": op["label"], "label_id": label_id[op["label"]]}
                for op in ann.get("operations", [])
            ],
        }
    return {"version": "hierskp-export-1", "provenance": _provenance(store), "labels": labels, "database": database}


def _provenance(store: CacheStore) -> dict[str, Any]:
    """What produced the features: enough to refuse mixing exports of two backbones."""
    info = store.info
    backbone = dict(info.get("backbone") or {})
    return {
        "cache": store.url,
        "fingerprint_id": info.get("fingerprint_id"),
        "backbone": backbone.get("model"),
        "text_backbone": (info.get("text_backbone") or {}).get("model"),
        "fps": backbone.get("fps"),
        "short_side": backbone.get("short_side"),
        "layout_version": info.get("layout_version"),
    }


def _save_npy(path: Path, data: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.save(fh, data)

    atomic_write(path, write)


def _write_hdf5(path: Path, store: CacheStore, ids: list[str]) -> None:
    prov = _provenance(store)
    with h5py.File(path, "w") as h5:
        for key in ("fingerprint_id", "backbone", "text_backbone", "fps", "short_side", "layout_version"):
            if prov[key] is not None:
                h5.attrs[key] = prov[key]
        h5.attrs["backbone_json"] = json.dumps(store.info.get("backbone") or {}, sort_keys=True)
        for vid in ids:
            rec = store.read_video(vid)
            ds = h5.create_dataset(vid, data=rec.features[:].astype(np.float32), chunks=True)
            ds.attrs["timestamps"] = rec.timestamps()


def export_features(store: CacheStore, out_dir: str | Path, fmt: Literal["npy", "hdf5"]) -> list[str]:
    """Write every complete video; returns the exported ids. Files are written to temp names then renamed."""
    from hierskp.files.outdir import claim_output_dir

    out = claim_output_dir(out_dir, "feature export", legacy=("annotations.json",))
    ids = store.video_ids()
    if fmt == "npy":
        (out / "timestamps").mkdir(exist_ok=True)
        for vid in ids:
            rec = store.read_video(vid)
            _save_npy(out / "timestamps" / f"{vid}.npy", rec.timestamps().astype(np.float64))
            _save_npy(out / f"{vid}.npy", rec.features[:].astype(np.float32))
    elif fmt == "hdf5":
        atomic_write(out / "features.h5", lambda tmp: _write_hdf5(tmp, store, ids))
    else:
        raise ValueError(f"unknown export format {fmt!r} (use npy or hdf5)")
    (out / "annotations.json").write_text(strict_json.dumps(_annotations(store, ids), indent=1))
    return ids
