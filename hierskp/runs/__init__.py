"""The run-folder contract, used by training and evaluation alike.

* `hierskp.runs.folder`: the layout of RUN/, `write_run_config` / `read_run_config`, `check_cache`,
  `write_eval_result` (the one writer of RUN/eval.json)
* `hierskp.runs.model`: `load_run(run_dir) -> RunModel` (heads + configs, loaded once), `frozen_baseline`
* `hierskp.runs.lock`: the run lock (one writer per run folder; pid, host and start of the holder)
* `hierskp.runs.encoders`: `HierSKPModel`, a run as text and video encoders (`hierskp.api.load_model` returns one)
* `hierskp.runs.promotion`: `RunRegistry`, which promoted run is current and why; `PromotionPolicy`,
  the rule (not worse on every given metric; names the metric that decided)
* `hierskp.runs.metric`: `Metric`, a named number of an evaluation result (path, better direction, chance);
  the list of headline metrics is `hierskp.eval.report.headline.HEADLINE`
"""
