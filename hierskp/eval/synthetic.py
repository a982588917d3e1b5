"""Synthetic clustered embeddings on the unit sphere, for index tests and benchmarks."""

from __future__ import annotations

import numpy as np


def clustered_embeddings(
    n: int,
    dim: int,
    n_clusters: int,
    noise: float = 0.8,
    seed: int = 0,
    centers: np.ndarray | None = None,
    chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """(x [n, dim] float32 unit rows, centers [n_clusters, dim]) from a Gaussian mixture.

    Each row is a random center plus isotropic noise of total norm ~``noise``, normalised:
    like per-frame features, which cluster by video/scene. Pass ``centers`` to draw fresh
    queries from the same mixture. Generated in chunks to bound float64 temporaries.
    """
    rng = np.random.default_rng(seed)
    if centers is None:
        centers = rng.standard_normal((n_clusters, dim)).astype(np.float32)
        centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    scale = np.float32(noise / np.sqrt(dim))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        block = centers[rng.integers(0, len(centers), m)]
        block += scale * rng.standard_normal((m, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out, centers
