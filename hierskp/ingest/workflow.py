"""Import public surgical workflow datasets (Cholec80, AutoLaparo, M2CAI16) into a manifest.

Each label file (``hierskp.ingest.phase_files``) becomes one manifest line: its runs of equal phases become
the operations (``label`` = the phase name, ``text`` = the name humanised: ``calot triangle dissection``);
the video text is ``"<procedure>: <op text>, <op text>, ..."``; there are no narrations (frame-level
training is off for these videos). The row rate is ``fps`` when given, else the format's: the video's
own frame rate (read from the file with ``hierskp.video.probe``) for per-frame formats (cholec80,
m2cai16), 1 row per second for AutoLaparo. Splits: ``"official"`` (default) or one split for all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hierskp.ingest.activitynet import VIDEO_SUFFIXES
from hierskp.ingest.manifest import SPLITS, ManifestError, VideoEntry, write_manifest
from hierskp.ingest.phase_files import PhaseFileError, humanize, load_label_map, read_phase_rows, rows_to_segments

AUTOLAPARO_PHASES = {
    "1": "Preparation",
    "2": "Dividing Ligament and Peritoneum",
    "3": "Dividing Uterine Vessels and Ligament",
    "4": "Transecting the Vagina",
    "5": "Specimen Removal",
    "6": "Suturing",
    "7": "Washing",
}


def _number(video_id: str) -> int:
    digits = re.findall(r"\d+", video_id)
    if not digits:
        raise ValueError(f"no video number in {video_id!r} for the official split (pass --split NAME)")
    return int(digits[-1])


def _cholec80_split(video_id: str) -> str:  # Cholec80 paper: videos 1-40 train, 41-80 test
    return "train" if _number(video_id) <= 40 else "test"


def _autolaparo_split(video_id: str) -> str:  # AutoLaparo paper: 1-10 train, 11-14 val, 15-21 test
    n = _number(video_id)
    return "train" if n <= 10 else "val" if n <= 14 else "test"


def _m2cai16_split(video_id: str) -> str:  # M2CAI16 workflow: test files are named test_workflow_video_NN
    return "test" if video_id.lower().startswith("test") else "train"


@dataclass(frozen=True)
class WorkflowFormat:
    name: str
    procedure: str
    pattern: str  # label files in a folder
    suffix: str  # stripped from the label file's stem to give the video id
    prefix: str  # likewise (AutoLaparo's label_01.txt -> 01)
    rows_per_second: float | None  # rate of the Frame numbers; None: the video's own frame rate
    label_map: dict[str, str] | None
    official_split: Callable[[str], str]


FORMATS = {
    "cholec80": WorkflowFormat("cholec80", "cholecystectomy", "*-phase.txt", "-phase", "", None, None, _cholec80_split),
    "autolaparo": WorkflowFormat(
        "autolaparo", "hysterectomy", "*.txt", "", "label_", 1.0, AUTOLAPARO_PHASES, _autolaparo_split
    ),
    "m2cai16": WorkflowFormat("m2cai16", "cholecystectomy", "*.txt", "", "", None, None, _m2cai16_split),
}


def label_files(fmt: WorkflowFormat, labels: list[Path]) -> list[Path]:
    """The label files named, folders expanded with the format's pattern, sorted, each once."""
    out: list[Path] = []
    for p in labels:
        out.extend(sorted(p.glob(fmt.pattern)) if p.is_dir() else [p])
    return list(dict.fromkeys(out))


def _video_for(videos_dir: Path, video_id: str) -> Path | None:
    for suffix in VIDEO_SUFFIXES:
        if (videos_dir / f"{video_id}{suffix}").exists():
            return videos_dir / f"{video_id}{suffix}"
    return None


def _video_fps(video: Path) -> float:
    from hierskp.video import VideoError, probe

    try:
        fps = probe(video).avg_fps
    except VideoError as exc:
        raise ValueError(f"cannot read the frame rate of {video} ({exc}); pass --fps") from None
    if fps <= 0:
        raise ValueError(f"{video}: the header has no frame rate; pass --fps")
    return fps


def workflow_to_entries(
    fmt: str | WorkflowFormat,
    labels: list[str | Path],
    videos_dir: str | Path,
    manifest_dir: str | Path,
    *,
    fps: float | None = None,
    label_map: str | Path | dict[str, str] | None = None,
    split: str = "official",
    procedure: str | None = None,
) -> list[VideoEntry]:
    """One VideoEntry per label file; ManifestError listing every problem (file, line, value)."""
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    if split != "official" and split not in SPLITS:
        raise ValueError(f"split must be 'official' or one of {SPLITS}, got {split!r}")
    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    source = Path(labels[0]) if labels else Path(videos_dir)
    try:
        mapping = load_label_map(label_map) if isinstance(label_map, str | Path) else label_map or fmt.label_map
    except PhaseFileError as exc:
        raise ManifestError(Path(label_map), exc.problems) from None
    videos_dir, manifest_dir = Path(videos_dir), Path(manifest_dir)
    files = label_files(fmt, [Path(p) for p in labels])
    problems: list[str] = [f"{p}: no such file or folder" for p in files if not p.exists()]
    if not files:
        problems.append(f"no label files ({fmt.pattern}) in {', '.join(map(str, labels))}")
    entries: list[VideoEntry] = []
    for path in (p for p in files if p.exists()):
        video_id = path.stem.removesuffix(fmt.suffix).removeprefix(fmt.prefix)
        video = _video_for(videos_dir, video_id)
        if video is None:
            problems.append(f"{path}: no video file {video_id}{{{','.join(VIDEO_SUFFIXES)}}} in {videos_dir}")
            continue
        try:
            rows = read_phase_rows(path, mapping)
            rate = fps or fmt.rows_per_second or _video_fps(video)
            segments = rows_to_segments(rows, rate)
            ops = [{"start": s.start, "end": s.end, "label": s.label, "text": humanize(s.label)} for s in segments]
            proc = procedure or fmt.procedure
            entries.append(
                VideoEntry.model_validate(
                    {
                        "video_id": video_id,
                        "video": str(video.resolve().relative_to(manifest_dir.resolve())),
                        "split": fmt.official_split(video_id) if split == "official" else split,
                        "procedure": proc,
                        "text": f"{proc}: " + ", ".join(o["text"] for o in ops),
                        "operations": ops,
                        "frames": [],
                    }
                )
            )
        except PhaseFileError as exc:
            problems.extend(exc.problems)
        except ValueError as exc:  # video fps, official split, relative path, entry validation
            problems.append(f"{path}: {str(exc).splitlines()[0]}")
    if problems:
        raise ManifestError(source, problems)
    return entries


def import_workflow(
    fmt: str, labels: list[str | Path], videos_dir: str | Path, out_manifest: str | Path, **kwargs
) -> Path:
    """Write the manifest (paths relative to its folder, which must hold the videos)."""
    out = Path(out_manifest)
    return write_manifest(out, workflow_to_entries(fmt, labels, videos_dir, out.parent, **kwargs))
