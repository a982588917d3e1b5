"""The read model over a feature cache: what is cached (`catalog`), training/evaluation items
(`items`) and padded batches (`batch`). Reads only through `cache_schema`; used by both
`hierskp.train` and `hierskp.eval`.

* `hierskp.dataset.catalog`: `CachedVideo`, `catalog(store, splits)`, `text_key`
* `hierskp.dataset.items`: `ItemSpec`, `CacheVideoDataset`, `pool_rows`, `video_clips`, `window_start`
* `hierskp.dataset.batch`: `Batch`, `collate`, `pad_videos`
"""
