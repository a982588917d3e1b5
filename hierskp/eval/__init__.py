"""Stage-3 evaluation: retrieval metrics, ActivityNet-protocol detection mAP, recognition
metrics and linear probes, and FAISS indices. Import the submodules directly; this package
imports nothing heavy (faiss, torch) on its own.

* `hierskp.eval.retrieval`: `retrieval_metrics`, `bidirectional_retrieval_metrics`
* `hierskp.eval.detection`: `detection_map`, `Annotation`, `Detection`
* `hierskp.eval.detection_io`: `read_ground_truth`, `read_predictions`, writers
* `hierskp.eval.proposals`: `nms_1d`, `soft_nms_1d`, `frame_scores_to_detections`
* `hierskp.eval.recognition`: `recognition_metrics`, `zero_shot_predict`, `train_linear_probe`
* `hierskp.eval.index`: `build_index`, `search`, `load_or_build`
"""
