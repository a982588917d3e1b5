"""Evaluation metrics as pure functions of arrays: retrieval ranks, classification scores, detection mAP (+ its JSON files) and bootstrap intervals. No model, no cache."""
