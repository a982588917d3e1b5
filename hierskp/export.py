"""Export cached features in the layout ActionFormer-style localization codebases read.

npy:  OUT/<video_id>.npy           float32 [T, D], one file per video
hdf5: OUT/features.h5              one dataset per video id, float32 [T, D], attr "timestamps"
both: OUT/annotations.json         ActivityNet JSON with per-video duration, fps and label ids
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from cache_schema import CacheStore


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
    return {"version": "hierskp-export-1", "labels": labels, "database": database}


def export_features(store: CacheStore, out_dir: str | Path, fmt: Literal["npy", "hdf5"]) -> list[str]:
    """Write every complete video; returns the exported ids. Files are written to temp names then renamed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = store.video_ids()
    if fmt == "npy":
        for vid in ids:
            tmp = out / f".{vid}.npy.tmp"
            with tmp.open("wb") as fh:
                np.save(fh, store.read_video(vid).features[:].astype(np.float32))
            os.replace(tmp, out / f"{vid}.npy")
    elif fmt == "hdf5":
        tmp = out / ".features.h5.tmp"
        with h5py.File(tmp, "w") as h5:
            for vid in ids:
                rec = store.read_video(vid)
                ds = h5.create_dataset(vid, data=rec.features[:].astype(np.float32), chunks=True)
                ds.attrs["timestamps"] = rec.timestamps()
        os.replace(tmp, out / "features.h5")
    else:
        raise ValueError(f"unknown export format {fmt!r} (use npy or hdf5)")
    (out / "annotations.json").write_text(json.dumps(_annotations(store, ids), indent=1))
    return ids
