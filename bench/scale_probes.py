"""CPU time of the N-dependent parts of search and training start-up, in-process, on an existing cache.

    PYTHONPATH=CODE python bench/scale_probes.py CACHE        # run once per code (this tree, an older checkout)
    python bench/scale_probes.py CACHE --recorded [--run RUN] # this tree, records in place (10,000 videos)

On a shared box wall time swings 5x; CPU time does not. Prints JSON:
- search: the per-query staleness check. Before the commit log: `SearchLibrary._videos` (the cheap check of
  every video); after: `CacheStore.unchanged_since` (the log's position) and `verified.intact` on 10 videos
  (what each query's hits get).
- start-up: `require_valid(store, deep=True)` as `hierskp train` runs it (after: twice, the second with its
  record), then `catalog` of the training splits.
- `--recorded`: only what runs when the records exist (the first-time passes are left out): training's check
  (`require_valid`, one listing), `cache ls`'s survey (no listing), the catalog from its record, and with
  `--run` a new `SearchLibrary` over the built index (model kept) and one query on it.
"""

from __future__ import annotations

import argparse
import json
import time

import cache_schema as cs
from hierskp.dataset.catalog import catalog
from hierskp.search.library import SearchLibrary


def cpu(fn):  # type: ignore[no-untyped-def]
    t = time.process_time()
    fn()
    return round(time.process_time() - t, 4)


def main(cache: str) -> None:
    store = cs.open_cache(cache)
    res: dict = {"n": len(store.video_ids(None))}
    if hasattr(store, "unchanged_since"):
        from cache_schema.verified import intact

        gen = store.generation()
        res["log_check_cpu_ms"] = round(cpu(lambda: [store.unchanged_since(gen) for _ in range(20)]) / 20 * 1e3, 3)
        res["hits_check_10_cpu_ms"] = round(
            cpu(lambda: [intact(store, v) for v in store.video_ids(None)[:10]]) * 1e3, 1
        )
    lib = SearchLibrary.__new__(SearchLibrary)
    lib.store, lib.splits = cs.open_cache(cache), None
    res["inspect_all_cpu_s"] = cpu(lib._videos)
    res["require_valid_deep_cpu_s"] = cpu(lambda: cs.require_valid(cs.open_cache(cache), deep=True))
    res["require_valid_deep_again_cpu_s"] = cpu(lambda: cs.require_valid(cs.open_cache(cache), deep=True))
    res["catalog_cpu_s"] = cpu(lambda: catalog(cs.open_cache(cache), ["pretrain", "train"]))
    print(json.dumps(res), flush=True)


def recorded(cache: str, run: str | None) -> None:
    from cache_schema.verified import survey

    store = cs.open_cache(cache)
    res: dict = {"n": len(store.video_ids(None))}
    res["ls_survey_cpu_s"] = cpu(lambda: survey(cs.open_cache(cache), listing=False))
    res["require_valid_deep_again_cpu_s"] = cpu(lambda: cs.require_valid(store, deep=True))
    # on the same store, as training does: the check marked every video, the catalog opens none
    res["catalog_recorded_cpu_s"] = cpu(lambda: catalog(store, ["pretrain", "train"]))
    print(json.dumps(res), flush=True)
    if run:
        import hierskp

        lib = hierskp.search_library(run, cache)
        lib.search("the surgeon performs dissection", k=10)  # loads the text encoder and the index once
        model, store = lib.model, lib.store
        res["new_library_query_cpu_ms"] = round(
            cpu(lambda: hierskp.search_library(model, store).search("skin closure", k=10)) * 1e3, 1
        )
        res["same_library_query_cpu_ms"] = round(cpu(lambda: lib.search("hemostasis", k=10)) * 1e3, 1)
        res["index"] = {"n": lib.info["moment"].n, "rebuilt": lib.info["moment"].rebuilt}
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache")
    ap.add_argument("--recorded", action="store_true")
    ap.add_argument("--run")
    args = ap.parse_args()
    recorded(args.cache, args.run) if args.recorded else main(args.cache)
