"""The first-time work of a large bench cache, done once per template instead of once per copy.

`bench_scale.write_cache` writes TEMPLATES videos and copies their groups byte for byte (only the group's
annotations differ: id, file and split). A copy's arrays are its template's, so its deep check (every value
re-read and hashed) and its search rows (the heads over its windows) are its template's too. At 10,000
videos doing that work per copy takes hours on the shared 2-core box; this module does it per template:

* `seed_checks`: `survey(store, "deep")`, the real one (listing, commit log, `inspect` of every video, the
  record written), except that a copy's deep check reuses its template's result;
* `seed_index`: the search index a first `hierskp search` builds (the real `SearchLibrary`, its fingerprint,
  stamp and files), except that a copy's rows are its template's rows under its own id, plus a little
  noise (distinct rows, clustered around the templates', as a real library's are), and the IVF has
  `NLIST` lists (the default, ~4 sqrt(N) = 5,900 at 2.2 million rows, takes k-means ~1 h on this box).
`bench_scale.py --seeded` uses `copy_records` (below), faster still than `seed_checks`.

What each reports is what the first reader would pay beyond that (listing, inspection, catalog, index
build); the per-copy parts it skips are measured per video at 1,243 videos, where nothing is seeded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

NLIST = 256
NOISE = 0.02  # per component, on unit rows of 256 dims: cosine ~0.95 to the template's row


def template_of(vid: str, templates: int) -> str:
    return f"syn{int(vid[3:]) % templates:04d}"  # the bench's ids: syn0000, syn0001, ...


def seed_checks(cache: Path, templates: int) -> dict[str, Any]:
    """The deep-verification record and the training catalog of every video (see module doc)."""
    import cache_schema.verified as verified
    from cache_schema import open_cache
    from hierskp.dataset.catalog import catalog

    real, done = verified._check, {}

    def per_template(store: Any, vid: str, level: int) -> list[str]:
        key = (template_of(vid, templates), level)
        if key not in done:
            done[key] = real(store, key[0], level)
        return done[key]

    verified._check = per_template
    try:
        t0 = time.perf_counter()
        store = open_cache(str(cache))
        ids = verified.verified_ids(store, deep=True)
        t1 = time.perf_counter()
        entries = catalog(store)  # for real: each video's annotations, timestamps and rows, then recorded
        t2 = time.perf_counter()
    finally:
        verified._check = real
    return {"videos": len(ids), "survey_s": round(t1 - t0, 1), "catalog_first_s": round(t2 - t1, 1), "n": len(entries)}


def seed_index(run: Path, cache: Path, templates: int) -> dict[str, Any]:
    """The moment index of `hierskp search` over every video, built by the library itself."""
    import hierskp
    import hierskp.search.library as search_mod
    from hierskp.search.rows import SearchRows

    real = search_mod.embed_rows

    def tiled(store: Any, model: Any, video_ids: list[str], level: str, *args: Any) -> SearchRows:
        tids = sorted({template_of(v, templates) for v in video_ids})
        base = real(store, model, tids, level, *args)
        own = {t: np.flatnonzero(np.asarray(base.video_ids) == t) for t in tids}
        rows = [own[template_of(v, templates)] for v in video_ids]
        pick = np.concatenate(rows)
        ids = [v for v, r in zip(video_ids, rows) for _ in range(len(r))]
        noise = np.random.default_rng(0).normal(0, NOISE, size=(len(pick), base.vectors.shape[1]))
        return SearchRows((base.vectors[pick] + noise).astype(np.float32), ids, base.times[pick])

    import hierskp.index.build as fb

    real_nlist = fb.default_nlist
    search_mod.embed_rows = tiled
    fb.default_nlist = lambda n: min(NLIST, real_nlist(n))
    try:
        t0 = time.perf_counter()
        lib = hierskp.search_library(run, cache)
        info = lib.index("moment")
    finally:
        search_mod.embed_rows, fb.default_nlist = real, real_nlist
    return {"s": round(time.perf_counter() - t0, 1), "rows": info.n, "rebuilt": info.rebuilt}


def copy_records(cache: Path, templates: int) -> dict[str, Any]:
    """The verification record and the catalog record of every copy, from its template's, reading each copy's
    group metadata only (its marker and annotations are its own): minutes where `seed_checks` (which still
    inspects every copy) takes hours at 10,000 videos on a loaded box. Three copies are derived for real and
    must agree."""
    import hashlib
    import json

    import cache_schema.verified as verified
    from cache_schema import commits, open_cache, rawstore
    from hierskp.dataset import catalog as cat

    t0 = time.perf_counter()
    store = open_cache(str(cache))
    generation = store.generation()
    tids = [f"syn{i:04d}" for i in range(templates)]
    base, key_sets, values = {}, {}, commits.memoized(store, "catalog", tids, lambda v: cat._derive(store, v))
    for t in tids:
        status, attrs, marker, problems = store.inspect(t)
        assert status == "complete" and not verified._check(store, t, verified.LEVELS["deep"]), (t, problems)
        keys = sorted(rawstore.list_prefix(store.root, f"videos/{t}/"))
        key_sets[kid := verified._key_set_id(keys)] = keys
        listing = {"marker": verified._marker_sha(marker), "listing": verified._counts(keys), "keys": kid}
        base[t] = {**listing, "level": verified.LEVELS["deep"]}
        base[t].update(verified._summary(marker, attrs))
    videos, entries = {}, {}
    for vid in rawstore.list_dir(store.root, "videos"):
        if not vid.startswith("syn"):
            continue
        raw = (cache / "videos" / vid / "zarr.json").read_bytes()
        attrs = json.loads(raw)["attributes"]
        tid = template_of(vid, templates)
        videos[vid] = {**base[tid], "marker": verified._marker_sha(attrs["complete"])}
        value = json.loads(json.dumps(values[tid]))
        value["fields"]["video_id"] = vid
        value["split"] = value["fields"]["split"] = attrs["annotations"]["split"]
        entries[vid] = {"meta": hashlib.sha256(raw).hexdigest(), "value": value}
    verified._save(store, {"generation": generation, "videos": videos, "key_sets": key_sets})
    commits._memo_save(commits._memo_path(store, "catalog"), entries)
    for vid in sorted(entries)[templates + 1 :: max(1, len(entries) // 3)][:3]:
        assert json.loads(json.dumps(cat._derive(store, vid))) == entries[vid]["value"], vid
    return {"videos": len(videos), "s": round(time.perf_counter() - t0, 1)}
