"""Ranking quality of the meta-DNN."""

from __future__ import annotations

import numpy as np

__all__ = ["kendall_tau"]


def kendall_tau(pred: np.ndarray, true: np.ndarray) -> float:
    """Kendall's tau-b between two 1-D arrays of equal length (NaN for fewer than 2 items)."""
    pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
    if len(pred) < 2:
        return float("nan")
    dp = np.sign(pred[:, None] - pred[None, :])
    dt = np.sign(true[:, None] - true[None, :])
    iu = np.triu_indices(len(pred), k=1)
    dp, dt = dp[iu], dt[iu]
    denom = np.sqrt(np.count_nonzero(dp) * np.count_nonzero(dt))
    return float((dp * dt).sum() / denom) if denom > 0 else float("nan")
