"""Stage 3: evaluation of loaded runs (`hierskp.runs.model.RunModel`), never of run folders.

Three layers, each importing only the ones above it in this list:

* `hierskp.eval.metrics`: pure functions of arrays, no model and no cache. `retrieval` (R@K, ranks),
  `classification` (accuracy, macro-F1, zero-shot argmax), `detection` (ActivityNet mAP at tIoU
  thresholds) and `detection_io` (its JSON files), `intervals` (bootstrap means with n and 95% CI).
* `hierskp.eval.tasks`: one task each on a run and a split of the cache (read through `hierskp.dataset`).
  `embed` (the three levels, once per split), `dense` (per-frame embeddings of whole videos),
  `retrieval` (held-out retrieval vs the frozen baseline), `order` and `order_controls` (twins,
  time-shuffled, mean video), `recognition` (zero-shot and probe), `frame_probe` (the linear probe,
  which is also the TAL head), `localization` (TAL) with `proposals` (scores -> detections, NMS),
  `prompts` and `prompt_templates` (class prompts, prompt ensembles).
* `hierskp.eval.report.build`: `build` (runs x splits, each split embedded once per method), `headline`
  (the one registry of headline metrics, `HEADLINE`, and its views: the report's summary, the demo and
  ablation tables, what nightly promotion compares), `groups` (seed groups, paired differences),
  `render` (report.md), `plots` (PNG figures), `index_agreement` (FAISS vs exact search, in memory).

Import the submodules directly; this package imports nothing heavy (faiss, torch) on its own.
"""
