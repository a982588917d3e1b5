"""Compositions of training and evaluation: `train_and_evaluate` and the ablation table."""
