"""`hierskp serve`: a local web app over one run and one cache (search, watch, inspect).

    app = create_app(ServeLibrary(run, cache, videos=corpus_dir))   # hierskp.serve.app
    uvicorn.run(app, host="127.0.0.1", port=8765)                    # what `hierskp serve` does

* `library.py`: the run and the cache, loaded once; searches through the public `SearchLibrary`;
* `media.py`: the source videos the cache's provenance records (and only those), thumbnails on disk;
* `timeline.py`: annotated and zero-shot predicted operations, the feature strip and self-similarity images;
* `api.py`: the JSON API under /api/ and the media routes; `app.py`: the FastAPI app and static pages.

Read-only on the run and the cache: indices and thumbnails live in the server's own state folder.
"""
