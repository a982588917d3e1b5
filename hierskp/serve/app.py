"""The FastAPI app: the API and media routes, and the three static pages (no build step, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import hierskp

from .api import api, media
from .library import ServeLibrary

STATIC = Path(__file__).parent / "static"
PAGES = {"/": "search.html", "/video": "video.html", "/cache": "cache.html"}


def create_app(library: ServeLibrary) -> FastAPI:
    app = FastAPI(
        title="hierskp serve",
        version=hierskp.__version__,
        description=f"Search, watch and inspect run {library.run_dir} over cache {library.cache_url}.",
    )
    app.state.library = library
    app.include_router(api)
    app.include_router(media)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for route, name in PAGES.items():
        app.add_api_route(route, _page(STATIC / name), include_in_schema=False, methods=["GET"])
    return app


def _page(path: Path):  # type: ignore[no-untyped-def]
    def page() -> FileResponse:
        return FileResponse(path, media_type="text/html")

    return page
