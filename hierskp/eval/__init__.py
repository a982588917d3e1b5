"""Stage-3 evaluation of loaded runs (`hierskp.runs.model.RunModel`), never of run folders.
Import the submodules directly; this package imports nothing heavy (faiss, torch) on its own.

* `hierskp.eval.embed`: `embed_split(store, model, split)`, the three levels embedded once
* `hierskp.eval.heldout`: `split_metrics`, `evaluate_run` (RUN/eval.json), `headline`
* `hierskp.eval.report`: `evaluate_runs`, the report (rendered by `report_render`, `report_plots`)
* `hierskp.eval.report_headline`: the one list of headline metrics (`HEADLINE`) and its views: the report's
  summary columns, the demo and ablation tables, the metrics nightly promotion compares
* `hierskp.eval.retrieval`: `retrieval_metrics`, `bidirectional_retrieval_metrics`
* `hierskp.eval.order`: `order_retrieval` (wrong orders: `hierskp.losses.orders`)
* `hierskp.eval.classifiers`: `recognition_metrics`, `zero_shot_predict`, `train_linear_probe`
* `hierskp.eval.recognition_task`: operation recognition on a split (`task_inputs`, `recognition_eval`)
* `hierskp.eval.dense`, `hierskp.eval.localization`: per-frame embeddings, temporal action localization
* `hierskp.eval.detection`, `detection_io`, `proposals`: ActivityNet mAP, its JSON files, 1-D NMS
* `hierskp.eval.faiss_build`: an in-memory FAISS index (`build_index`, `search`)
* `hierskp.eval.faiss_store`: fingerprinted index files (`load_or_build`, `load_index`, re-exports `faiss_build`)
* `hierskp.eval.run_faiss`: a run's per-level indices in RUN/index (`build_run_indices`, `search_text`)
"""
