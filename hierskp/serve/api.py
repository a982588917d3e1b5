"""The JSON API (/api/...) and the media routes (/media/...). Every path parameter is a video id
checked against the cache's own listing; files come only from `ServeLibrary.source`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from hierskp.dataset.cache import CacheError
from hierskp.search.library import EmptyLibrary

from .library import ServeLibrary, UnknownVideo
from .media import MediaUnavailable
from .timeline import similarity_png, strip_png

MAX_QUERY = 1000  # characters; a longer query is refused with 422
MAX_K = 100

api = APIRouter(prefix="/api", tags=["api"])
media = APIRouter(prefix="/media", tags=["media"])


def lib(request: Request) -> ServeLibrary:
    return request.app.state.library


def _video_error(exc: Exception) -> HTTPException:
    if isinstance(exc, UnknownVideo):
        return HTTPException(404, str(exc))
    return HTTPException(409, str(exc))  # known video, but its file or data cannot be served now


@api.get("/search", summary="free-text search of the cache's videos")
def search(
    request: Request,
    q: Annotated[str, Query(description=f"the query text (at most {MAX_QUERY} characters)")],
    level: Literal["moment", "operation", "video"] = "moment",
    split: Annotated[str | None, Query(max_length=64, description="only videos of this split")] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 12,
) -> dict[str, Any]:
    if len(q) > MAX_QUERY:
        raise HTTPException(422, f"query q is {len(q)} characters long; at most {MAX_QUERY} are accepted")
    if not q.strip():
        raise HTTPException(422, "query q is blank")
    try:
        return lib(request).search(q, level, split or None, k)
    except EmptyLibrary as exc:
        raise HTTPException(404, str(exc)) from None
    except (CacheError, ValueError) as exc:
        raise HTTPException(409, str(exc)) from None


@api.get("/videos", summary="every video of the cache: split, status; counts, hours, backbone, layout")
def videos(request: Request) -> dict[str, Any]:
    return lib(request).summary()


@api.get("/videos/{video_id}", summary="one video: provenance, integrity, annotated and predicted operations")
def video(request: Request, video_id: str) -> dict[str, Any]:
    try:
        return lib(request).video(video_id)
    except (UnknownVideo, CacheError) as exc:
        raise _video_error(exc) from None


@media.get("/video/{video_id}", summary="the source video file (HTTP range requests answered with 206)")
def video_file(request: Request, video_id: str) -> FileResponse:
    library = lib(request)
    try:
        src = library.source(library.store(), video_id)
    except (UnknownVideo, MediaUnavailable, CacheError) as exc:
        raise _video_error(exc) from None
    return FileResponse(src.path, media_type="video/mp4" if src.path.suffix == ".mp4" else None)


@media.get("/thumb/{video_id}", summary="a JPEG frame at time t (decoded once, then read from disk)")
def thumbnail(request: Request, video_id: str, t: Annotated[float, Query(ge=0, le=1e7)] = 0.0) -> FileResponse:
    library = lib(request)
    try:
        src = library.source(library.store(), video_id)
        path = library.thumbs.get(src, t)
    except (UnknownVideo, MediaUnavailable, CacheError) as exc:
        raise _video_error(exc) from None
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


@media.get("/strip/{video_id}.png", summary="the feature strip (first 3 principal components as RGB)")
def strip(request: Request, video_id: str) -> Response:
    return Response(strip_png(_features(request, video_id)), media_type="image/png")


@media.get("/similarity/{video_id}.png", summary="the frame self-similarity matrix (cosine)")
def similarity(request: Request, video_id: str) -> Response:
    return Response(similarity_png(_features(request, video_id)), media_type="image/png")


def _features(request: Request, video_id: str) -> Any:
    try:
        return lib(request).features(video_id)
    except (UnknownVideo, CacheError) as exc:
        raise _video_error(exc) from None
