"""Stage-3 evaluation of loaded runs (`hierskp.runs.model.RunModel`), never of run folders.
Import the submodules directly; this package imports nothing heavy (faiss, torch) on its own.

* `hierskp.eval.tasks.embed`: `embed_split(store, model, split)`, the three levels embedded once
* `hierskp.eval.tasks.retrieval`: `split_metrics`, `evaluate_run` (RUN/eval.json), `headline`
* `hierskp.eval.report.build`: `evaluate_runs`, the report (rendered by `report_render`, `report_plots`)
* `hierskp.eval.metrics.retrieval`: `retrieval_metrics`, `bidirectional_retrieval_metrics`
* `hierskp.eval.tasks.order`: `order_retrieval` (wrong orders: `hierskp.losses.orders`)
* `hierskp.eval.metrics.classification`: `recognition_metrics`, `zero_shot_predict`, `train_linear_probe`
* `hierskp.eval.tasks.recognition`: operation recognition on a split (`task_inputs`, `recognition_eval`)
* `hierskp.eval.tasks.dense`, `hierskp.eval.tasks.localization`: per-frame embeddings, temporal action localization
* `hierskp.eval.metrics.detection`, `detection_io`, `proposals`: ActivityNet mAP, its JSON files, 1-D NMS
* `hierskp.index.build`: an in-memory FAISS index (`build_index`, `search`)
* `hierskp.index.store`: fingerprinted index files (`load_or_build`, `load_index`, re-exports `faiss_build`)
* `hierskp.search.run_indices`: a run's per-level indices in RUN/index (`build_run_indices`, `search_text`)
"""
