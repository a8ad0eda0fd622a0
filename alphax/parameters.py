"""NASBench-101's ``trainable_parameters`` of a cell, computed from the cell alone (numpy only).

NASBench-101's network (``nasbench/lib/model_builder.py``): a 3x3 conv-bn-relu stem, ``num_stacks``
stacks of ``modules_per_stack`` copies of the cell (channels doubled, after a 2x2 max-pool, between
stacks), global average pooling and a dense layer. In a cell, ``compute_vertex_channels`` splits the
output channels among the vertices that feed the output; every edge from the input is a 1x1
conv-bn-relu projection; a conv vertex is conv-bn-relu from its channels to its channels. Convolutions
have no bias; batch norm trains a scale and an offset per channel. The count equals NASBench-101's
recorded ``trainable_parameters`` (tested on every cell of the real subset) and the count of the
PyTorch network that ``workers.network`` builds, without building anything: a zero-cost feature of a
cell that the meta-DNN may use before any training.
"""

from __future__ import annotations

import numpy as np

from alphax.errors import OutOfDomainError
from alphax.spec import MAX_VERTICES, CellSpec

__all__ = ["MIN_STEM_CHANNELS", "check_stem_channels", "trainable_parameters", "vertex_channels"]

MIN_STEM_CHANNELS = MAX_VERTICES - 2
"""Stem channels that build every cell of the space: a cell's output concatenates up to 5 vertices, and
``compute_vertex_channels`` gives each of them ``stem // in-degree`` of the first stack's channels, which
must not be 0 (nasbench-pytorch then fails an assertion, or divides by zero)."""

_KERNEL = {"conv3x3-bn-relu": 9, "conv1x1-bn-relu": 1, "maxpool3x3": 0}


def vertex_channels(in_channels: int, out_channels: int, matrix: np.ndarray) -> list[int]:
    """The channels of each vertex, as NASBench-101's ``compute_vertex_channels``."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    in_degree = matrix[1:].sum(axis=0)
    interior, correction = divmod(out_channels, int(in_degree[n - 1]))
    for v in range(1, n - 1):
        if matrix[v, n - 1]:
            channels[v] = interior + (1 if correction else 0)
            correction -= 1 if correction else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def _module(matrix: np.ndarray, ops: list[str], in_channels: int, out_channels: int) -> int:
    n = len(matrix)
    ch = vertex_channels(in_channels, out_channels, matrix)
    total = 0
    for t in range(1, n - 1):
        if matrix[0, t]:                                         # projection of the input
            total += in_channels * ch[t] + 2 * ch[t]
        k = _KERNEL[ops[t]]
        if k:
            total += k * ch[t] * ch[t] + 2 * ch[t]
    if n == 2 or matrix[0, n - 1]:                               # input -> output projection
        total += in_channels * out_channels + 2 * out_channels
    return total


def check_stem_channels(spec: CellSpec, stem_channels: int) -> None:
    """A ``ConfigError`` unless ``stem_channels`` leaves every vertex that feeds the output at least one
    channel (see :data:`MIN_STEM_CHANNELS`)."""
    from alphax.errors import ConfigError

    matrix = np.asarray(spec.matrix, dtype=np.int64)
    feeding = int(matrix[1:, -1].sum())
    if stem_channels < feeding:
        raise ConfigError(f"--stem-channels {stem_channels} is too few for this cell: its output concatenates "
                          f"{feeding} vertices, each of which needs at least one channel; give --stem-channels "
                          f"{max(feeding, 1)} or more ({MIN_STEM_CHANNELS} or more builds every cell)")


def trainable_parameters(spec: CellSpec, *, stem_channels: int = 128, num_stacks: int = 3,
                         modules_per_stack: int = 3, num_labels: int = 10) -> int:
    """The trainable parameters of the NASBench-101 network of ``spec`` (a valid, pruned cell); a
    ``ConfigError`` for a stem too narrow to build it (:func:`check_stem_channels`)."""
    if not spec.valid_spec:
        raise OutOfDomainError("the cell is disconnected (no path from input to output): it has no network")
    check_stem_channels(spec, stem_channels)
    spec = spec.stored_form()         # the network NASBench-101 counted for the cell's hash
    matrix = np.asarray(spec.matrix, dtype=np.int64)
    ops = list(spec.ops)
    total = 3 * 3 * 3 * stem_channels + 2 * stem_channels      # the stem
    channels = stem_channels
    for stack in range(num_stacks):
        out = channels * 2 if stack > 0 else channels
        for _ in range(modules_per_stack):
            total += _module(matrix, ops, channels, out)
            channels = out
    return total + channels * num_labels + num_labels
