"""Evaluation tasks on a loaded run and a split of the cache: the three levels embedded, held-out retrieval, order and its controls, recognition (zero-shot and the frame probe), localization."""
