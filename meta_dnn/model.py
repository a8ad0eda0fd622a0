"""The meta-DNN: an ensemble of small MLPs predicting a cell's accuracy; its spread is an uncertainty.

The AlphaX paper's meta-DNN is one MLP on the adjacency + ops encoding; this one runs ``members`` MLPs
side by side (one batched forward pass) on the dense encoding plus the path encoding (an
``EmbeddingBag`` over the active paths, i.e. a sparse first layer), so scoring a 20,000-cell pool is one
cheap pass.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EnsembleMLP"]


class EnsembleMLP(nn.Module):
    """``members`` independent 2-hidden-layer MLPs. ``forward(dense (N, D), paths (N, P)) -> (M, N)``."""

    def __init__(self, dense_dim: int, num_paths: int, *, members: int = 5, hidden: int = 64):
        super().__init__()
        self.members, self.hidden = members, hidden
        self.dense = nn.Linear(dense_dim, members * hidden) if dense_dim else None
        self.paths = nn.EmbeddingBag(num_paths + 1, members * hidden, mode="sum", padding_idx=num_paths)
        self.bias1 = nn.Parameter(torch.zeros(members * hidden))
        self.w2 = nn.Parameter(torch.randn(members, hidden, hidden) / hidden ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(members, 1, hidden))
        self.w3 = nn.Parameter(torch.randn(members, hidden, 1) / hidden ** 0.5)
        self.b3 = nn.Parameter(torch.zeros(members, 1, 1))
        with torch.no_grad():
            self.paths.weight.mul_(0.3)
            self.paths.weight[num_paths].zero_()

    def forward(self, dense: torch.Tensor, paths: torch.Tensor) -> torch.Tensor:
        h = self.paths(paths) + self.bias1
        if self.dense is not None:
            h = h + self.dense(dense)
        h = torch.relu(h).view(-1, self.members, self.hidden).transpose(0, 1)     # (M, N, H)
        h = torch.relu(torch.baddbmm(self.b2, h, self.w2))
        return torch.baddbmm(self.b3, h, self.w3).squeeze(-1)                      # (M, N)
