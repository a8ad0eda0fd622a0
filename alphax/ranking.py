"""Ranking quality: Kendall's tau-b (numpy only, so reports need no torch)."""

from __future__ import annotations

import numpy as np

__all__ = ["kendall_tau"]


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two 1-D arrays of equal length (NaN for fewer than 2 items or no pairs)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"kendall_tau: two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        return float("nan")
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    denom = np.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float((dx * dy).sum() / denom) if denom else float("nan")
