"""Ranking quality: Kendall's tau-b (numpy and scipy, so reports need no torch)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["kendall_tau"]


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two 1-D arrays of equal length (NaN for fewer than 2 items or no pairs), in
    O(n log n) (scipy's; counting every pair took 8 GB and 36 s for the subset's 20,001 cells)."""
    from scipy.stats import kendalltau

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"kendall_tau: two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        return float("nan")
    with warnings.catch_warnings():      # a constant array: no untied pair, NaN, said by the NaN itself
        warnings.simplefilter("ignore")
        return float(kendalltau(x, y, variant="b").statistic)
