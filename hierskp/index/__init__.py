"""FAISS indices: build and tune (`build`), fingerprinted files (`store`), GPU resources (`gpu`)."""
