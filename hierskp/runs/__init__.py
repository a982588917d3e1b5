"""The run-folder contract, used by training and evaluation alike.

* `hierskp.runs.folder`: the layout of RUN/, `write_run_config` / `read_run_config`, `check_cache`,
  `write_eval_result` (the one writer of RUN/eval.json)
* `hierskp.runs.model`: `load_run(run_dir) -> RunModel` (heads + configs, loaded once), `frozen_baseline`
* `hierskp.runs.encoders`: `load_model(run_dir) -> HierSKPModel`, the public API (`hierskp.load_model`)
* `hierskp.runs.promotion`: `RunRegistry`, which promoted run is current and why
"""
