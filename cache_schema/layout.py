"""The on-disk layout of a hierskp feature cache (Zarr v3). Bump LAYOUT_VERSION on any change.

CACHE/                          group; attrs["hierskp_cache"] = CacheInfo
CACHE/videos/<video_id>/        group; attrs: "provenance", "annotations", "complete" (last)
    frames/features             [T, D] float16, chunked along T
    frames/timestamps           [T]    float64 seconds (decoded presentation times)
    text/video                  [1, Dt] float32  (video-level description)
    text/operations             [K, Dt] float32  (one row per annotated operation)
    text/narrations             [F, Dt] float32  (one row per frame-level narration)
    annotations/segments        [K, 2] float64 (start, end) seconds
    annotations/narration_times [F]    float64 seconds
  optional (minor 1), written when the manifest gives further captions (`texts`):
    text/alt/<level>            [M, Dt] float32  (the other captions of a level's annotations)
    text/alt/<level>_owner      [M]    int64    (row of the primary caption each one belongs to, sorted)
CACHE/_commits/log              (minor 2, local stores) append-only JSON lines bracketing every completion
                                marker write and delete; its size is the cache's generation (commits.py)
"""

from __future__ import annotations

import json

LAYOUT_VERSION = 2  # major: readers refuse another one
# minor: additions readers of the same major may ignore (older caches lack them). 1: text/alt/*,
# 2: the commit log _commits/log (a cache without one is read by inspecting its videos)
LAYOUT_MINOR = 2
ROOT_ATTR = "hierskp_cache"
VIDEOS = "videos"

FEATURES = "frames/features"
TIMESTAMPS = "frames/timestamps"
TEXT_VIDEO = "text/video"
TEXT_OPERATIONS = "text/operations"
TEXT_NARRATIONS = "text/narrations"
# extra captions per level (layout minor 1): embeddings and the primary row each belongs to
TEXT_LEVELS = ("video", "operations", "narrations")
ALT_TEXTS = {level: f"text/alt/{level}" for level in TEXT_LEVELS}
ALT_OWNERS = {level: f"text/alt/{level}_owner" for level in TEXT_LEVELS}
SEGMENTS = "annotations/segments"
NARRATION_TIMES = "annotations/narration_times"

# attributes of a video group; COMPLETE is written last, after every array above.
PROVENANCE = "provenance"
ANNOTATIONS = "annotations"
COMPLETE = "complete"

# dimension names of every array (Zarr v3 `dimension_names`): xarray opens the cache as a DataTree;
# arrays of one group that share a name share that axis (features and timestamps share "time").
DIMENSIONS = {
    FEATURES: ("time", "feature"),
    TIMESTAMPS: ("time",),
    TEXT_VIDEO: ("description", "text_feature"),
    TEXT_OPERATIONS: ("operation", "text_feature"),
    TEXT_NARRATIONS: ("narration", "text_feature"),
    SEGMENTS: ("operation", "bound"),
    NARRATION_TIMES: ("narration",),
    **{ALT_TEXTS[lv]: (f"alt_{lv}_caption", "text_feature") for lv in TEXT_LEVELS},
    **{ALT_OWNERS[lv]: (f"alt_{lv}_caption",) for lv in TEXT_LEVELS},
}
# attributes of the arrays in seconds (CF-style units; xarray keeps them as float attributes)
TIME_ATTRS = {"units": "s", "long_name": "seconds from the start of the video"}
TIME_ARRAYS = (TIMESTAMPS, SEGMENTS, NARRATION_TIMES)

FEATURE_DTYPE = "float16"
TEXT_DTYPE = "float32"
TIME_DTYPE = "float64"
OWNER_DTYPE = "int64"
# 256 frames at 1 fps is ~4 minutes of video: a training window touches one or two chunks.
FEATURE_CHUNK_FRAMES = 256
TEXT_CHUNK_ROWS = 1024

VIDEO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"


def empty_array_node(dimension: str, note: str) -> bytes:
    """zarr.json of an empty array. A folder of hierskp's own files (claims, the commit log) is marked with
    one: zarr's and xarray's walks of the hierarchy stop at an array, so they never meet those files (a
    stray file under a group makes zarr warn "not recognized as a component of a Zarr hierarchy")."""
    return json.dumps(
        {
            "zarr_format": 3,
            "node_type": "array",
            "shape": [0],
            "data_type": "uint8",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0,
            "codecs": [{"name": "bytes"}],
            "attributes": {"hierskp": note},
            "dimension_names": [dimension],
            "storage_transformers": [],
        }
    ).encode()
