"""Prefect flows over `hierskp`: thin wrappers, one file per flow (see deploy/README.md).

extract-features  stage 1: videos -> Zarr feature cache (one mapped task per video)
train-hierskp     heads on the cached features -> a run folder
build-index       the run's search indices (what `hierskp search` loads)
evaluate          held-out metrics -> report
hierskp-pipeline  the four above, chained as subflows
retrain           scheduled: extract new/changed videos, retrain, evaluate, promote if not worse
"""
